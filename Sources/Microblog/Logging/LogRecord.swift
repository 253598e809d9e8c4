import Foundation
import Logging

/// One log call, captured by the handler and formatted by the sink.
struct LogRecord: Sendable {
    /// Wall-clock seconds since 1970-01-01 UTC.
    var seconds: Int64
    /// Nanoseconds within ``seconds``.
    var nanoseconds: Int32
    var level: Logger.Level
    var message: String
    var metadata: Logger.Metadata
    var file: String
    var line: UInt
    /// A record that must never produce mail (the sink's own reports about mail delivery).
    var suppressMail: Bool

    init(
        level: Logger.Level,
        message: String,
        metadata: Logger.Metadata = [:],
        file: String,
        line: UInt,
        suppressMail: Bool = false
    ) {
        let now = Date().timeIntervalSince1970
        let seconds = now.rounded(.down)
        self.seconds = Int64(seconds)
        self.nanoseconds = Int32(min(999_999_999, (now - seconds) * 1e9))
        self.level = level
        self.message = message
        self.metadata = metadata
        self.file = file
        self.line = line
        self.suppressMail = suppressMail
    }

    /// Whether this record goes to the admins by mail.
    var isMailable: Bool {
        !suppressMail && level >= .error
    }
}
