import Logging

/// The swift-log handler that feeds a ``LogSink``: it captures the record (metadata unmerged) and hands it to the
/// sink's bounded buffer. It never blocks and never awaits; when the buffer is full the record is dropped and
/// counted, and the sink writes the count to the file once it catches up.
public struct LogSinkHandler: LogHandler {
    /// Metadata with this key and the value ``LogSink/suppressedMailValue`` is written to the file but never mailed.
    public static let mailMetadataKey = "mail"

    let buffer: LogRecordBuffer
    public let label: String
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?

    init(label: String, buffer: LogRecordBuffer, logLevel: Logger.Level) {
        self.label = label
        self.buffer = buffer
        self.logLevel = logLevel
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        // Logger checks the level, but a MultiplexLogHandler forwards by its lowest child's level.
        guard event.level >= logLevel else { return }
        // The metadata is merged by the sink, off this thread; only the mail marker is looked up here, and only for
        // a record that could be mailed.
        let provided = metadataProvider?.get()
        var suppressMail = false
        if event.level >= .error {
            let marker = event.metadata?[Self.mailMetadataKey] ?? provided?[Self.mailMetadataKey] ?? metadata[Self.mailMetadataKey]
            if case .string(let value) = marker, value == LogSink.suppressedMailValue {
                suppressMail = true
            }
        }
        buffer.push(
            LogRecord(
                level: event.level,
                message: event.message.description,
                metadata: metadata,
                provided: provided,
                explicit: event.metadata,
                file: event.file,
                line: event.line,
                suppressMail: suppressMail
            )
        )
    }
}
