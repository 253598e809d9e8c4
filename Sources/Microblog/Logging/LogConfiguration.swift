import Logging

/// Where and how the log file is written.
///
/// The defaults are the tutorial's: `logs/microblog.log`, rotated at 10 KiB with 10 backups, INFO and above.
public struct LogConfiguration: Sendable {
    /// Folder of `microblog.log` (`LOG_DIR`); created when missing.
    public var directory: String
    /// Rotation size in bytes (`LOG_MAX_BYTES`); `0` never rotates.
    public var maxBytes: Int
    /// Number of rotated files kept, `microblog.log.1` ... `.N` (`LOG_BACKUP_COUNT`).
    public var backupCount: Int
    /// The lowest level written to the file.
    public var level: Logger.Level
    /// Name of the log file inside ``directory``.
    public var fileName: String
    /// Records the handlers may hold before the sink consumes them; past this, records are dropped and counted.
    public var bufferCapacity: Int

    public init(
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
    public var filePath: String {
        directory.hasSuffix("/") ? directory + fileName : directory + "/" + fileName
    }
}

/// How error records become mail: the coalescing window, the queue bound and the retry policy.
public struct MailPolicy: Sendable {
    /// How long the first record of a batch waits for more before the mail goes out.
    public var coalescingWindow: Duration
    /// Records waiting for mail at most; past this they are dropped and the next mail states how many.
    public var queueCapacity: Int
    /// Records listed in one mail at most.
    public var maxRecordsPerMail: Int
    /// First retry delay after a transient failure; doubled on every further failure.
    public var backoffBase: Duration
    /// Upper bound of the retry delay.
    public var backoffMax: Duration
    /// Attempts for one mail (the first one included) before a transient failure is given up.
    public var maxAttempts: Int

    public init(
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
    public func backoff(afterAttempt attempt: Int) -> Duration {
        var delay = backoffBase
        var step = 1
        while step < attempt, delay < backoffMax {
            delay = delay * 2
            step += 1
        }
        return min(delay, backoffMax)
    }
}
