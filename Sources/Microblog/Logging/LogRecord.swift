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
    /// The logger's own metadata (lowest precedence).
    var metadata: Logger.Metadata
    /// What the logger's metadata provider gave at the call, then the call's own metadata (highest precedence).
    /// Kept apart and merged by ``sortedMetadata`` when the sink formats the record, not on the caller's thread.
    var provided: Logger.Metadata?
    var explicit: Logger.Metadata?
    var file: String
    var line: UInt
    /// A record that must never produce mail (the sink's own reports about mail delivery).
    var suppressMail: Bool

    init(
        level: Logger.Level,
        message: String,
        metadata: Logger.Metadata = [:],
        provided: Logger.Metadata? = nil,
        explicit: Logger.Metadata? = nil,
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
        self.provided = provided
        self.explicit = explicit
        self.file = file
        self.line = line
        self.suppressMail = suppressMail
    }

    /// The logger's metadata, overridden by the provider's, overridden by the call's, sorted by key.
    var sortedMetadata: [(key: String, value: Logger.MetadataValue)] {
        var pairs: [(key: String, value: Logger.MetadataValue)] = []
        // Highest precedence first; a key already taken is shadowed. Metadata is a handful of keys, so a scan beats hashing.
        for layer in [explicit, provided, metadata] {
            guard let layer else { continue }
            for (key, value) in layer where !pairs.contains(where: { $0.key == key }) {
                pairs.append((key, value))
            }
        }
        pairs.sort { $0.key < $1.key }
        return pairs
    }

    /// Whether this record goes to the admins by mail.
    var isMailable: Bool {
        !suppressMail && level >= .error
    }
}
