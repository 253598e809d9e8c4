import Logging

/// Where and how the log file is written.
///
/// The defaults are the tutorial's: `logs/microblog.log`, rotated at 10 KiB with 10 backups, INFO and above.
public struct LogConfiguration: Sendable {
    /// Folder of `microblog.log` (`LOG_DIR`); created when missing.
    package var directory: String
    /// Rotation size in bytes (`LOG_MAX_BYTES`); `0` never rotates.
    package var maxBytes: Int
    /// Number of rotated files kept, `microblog.log.1` ... `.N` (`LOG_BACKUP_COUNT`).
    package var backupCount: Int
    /// The lowest level written to the file.
    public var level: Logger.Level
    /// Name of the log file inside ``directory``.
    package var fileName: String
    /// Records the handlers may hold before the sink consumes them; past this, records are dropped and counted.
    package var bufferCapacity: Int

    package init(
        directory: String = "logs",
        maxBytes: Int = 10240,
        backupCount: Int = 10,
        level: Logger.Level = .info,
        fileName: String = "microblog.log",
        bufferCapacity: Int = 16384
    ) {
        self.directory = directory
        self.maxBytes = maxBytes
        self.backupCount = backupCount
        self.level = level
        self.fileName = fileName
        self.bufferCapacity = bufferCapacity
    }

    /// The full path of the current log file.
    package var filePath: String {
        directory.hasSuffix("/") ? directory + fileName : directory + "/" + fileName
    }
}

/// How error records become mail: the coalescing window, the queue bound and the retry policy.
package struct MailPolicy: Sendable {
    /// How long the first record of a batch waits for more before the mail goes out.
    package var coalescingWindow: Duration
    /// Records waiting for mail at most; past this they are dropped and the next mail states how many.
    package var queueCapacity: Int
    /// Records listed in one mail at most.
    package var maxRecordsPerMail: Int
    /// First retry delay after a transient failure; doubled on every further failure.
    package var backoffBase: Duration
    /// Upper bound of the retry delay.
    package var backoffMax: Duration
    /// Attempts for one mail (the first one included) before a transient failure is given up.
    package var maxAttempts: Int

    package init(
        coalescingWindow: Duration = .seconds(2),
        queueCapacity: Int = 1000,
        maxRecordsPerMail: Int = 200,
        backoffBase: Duration = .seconds(1),
        backoffMax: Duration = .seconds(300),
        maxAttempts: Int = 12
    ) {
        self.coalescingWindow = coalescingWindow
        self.queueCapacity = max(1, queueCapacity)
        self.maxRecordsPerMail = max(1, maxRecordsPerMail)
        self.backoffBase = backoffBase
        self.backoffMax = backoffMax
        self.maxAttempts = max(1, maxAttempts)
    }

    /// The delay before attempt `attempt + 1`, after `attempt` failed attempts (1-based).
    package func backoff(afterAttempt attempt: Int) -> Duration {
        var delay = backoffBase
        var step = 1
        while step < attempt, delay < backoffMax {
            delay = delay * 2
            step += 1
        }
        return min(delay, backoffMax)
    }
}
