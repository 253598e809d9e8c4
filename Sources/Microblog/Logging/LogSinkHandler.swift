import Logging

/// The swift-log handler that feeds a ``LogSink``: it captures the record (metadata unmerged) and hands it to the
/// sink's bounded buffer. It never blocks and never awaits; when the buffer is full the record is dropped and
/// counted, and the sink writes the count to the file once it catches up.
package struct LogSinkHandler: LogHandler {
    /// Metadata with this key and the value ``LogSink/suppressedMailValue`` is written to the file but never mailed.
    package static let mailMetadataKey = "mail"

    let buffer: LogRecordBuffer
    package let label: String
    package var logLevel: Logger.Level
    package var metadata: Logger.Metadata = [:]
    package var metadataProvider: Logger.MetadataProvider?

    init(label: String, buffer: LogRecordBuffer, logLevel: Logger.Level) {
        self.label = label
        self.buffer = buffer
        self.logLevel = logLevel
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    package func log(event: LogEvent) {
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
