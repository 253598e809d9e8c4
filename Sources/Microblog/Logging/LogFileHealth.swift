/// What the log file has lost since the sink started, for tests and monitoring (``LogSink/fileHealth``).
///
/// Counts only grow. One record is one line of the file.
package struct LogFileHealth: Sendable, Equatable {
    /// Records that never reached the file because it could not be opened or written (the sink's own notices
    /// about losses are not counted).
    package var lostRecords = 0
    /// Times the file stopped being writable; each outage ends with the next successful write.
    package var outages = 0
    /// Whether the latest write failed.
    package var isFailing = false
    /// Rotations not done because a rename failed: no backup was touched and the file grew past the limit instead.
    package var failedRotations = 0
    /// The latest failure to write or rotate, worded as on stderr.
    package var lastError: String?

    package init() {}
}
