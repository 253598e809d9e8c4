import Logging

/// The mail loop of a ``LogSink``: waits for error records, lets a window pass so that a burst becomes one
/// mail, sends it with retries, and reports failures to the file (never to mail).
struct MailDispatcher: Sendable {
    let transport: any MailTransport
    let configuration: MailConfiguration
    let policy: MailPolicy
    let queue: MailQueue
    let report: @Sendable (LogRecord) -> Void
    let events: AsyncStream<MailDeliveryEvent>.Continuation
    let metrics: LogSinkMetrics

    static let subject = "Microblog Failure"

    /// Runs until the queue is closed and empty (graceful) or the task is cancelled.
    func run() async {
        while await queue.waitForRecords() {
            if !queue.isClosed {
                await queue.sleep(for: policy.coalescingWindow)
            }
            let (records, dropped) = queue.take(limit: policy.maxRecordsPerMail)
            defer { queue.finishSend() }
            guard !records.isEmpty || dropped > 0 else { continue }
            if Task.isCancelled {
                give(up: .connectionClosed(step: "shutdown"), records: records, dropped: dropped, attempts: 0)
                continue
            }
            await deliver(records: records, dropped: dropped)
        }
        queue.releaseIdleWaiters()
    }

    func compose(records: [LogRecord], dropped: Int) -> MailMessage {
        var body = "Microblog logged \(records.count) error record\(records.count == 1 ? "" : "s")"
        if dropped > 0 {
            body += "; \(dropped) more were dropped because the mail queue was full (bound \(queue.capacity))"
        }
        body += ":\n\n"
        for record in records {
            body += LogLineFormatter.format(record)
        }
        return MailMessage(
            from: configuration.sender,
            to: configuration.admins,
            subject: Self.subject,
            body: body
        )
    }

    private func deliver(records: [LogRecord], dropped: Int) async {
        let message = compose(records: records, dropped: dropped)
        var attempt = 0
        while true {
            attempt += 1
            do {
                try await transport.send(message)
                emit(.delivered(records: records.count, dropped: dropped, attempt: attempt))
                return
            } catch {
                let stop = error.isPermanent || attempt >= policy.maxAttempts || queue.isClosed || Task.isCancelled
                if stop {
                    give(up: error, records: records, dropped: dropped, attempts: attempt)
                    return
                }
                let delay = policy.backoff(afterAttempt: attempt)
                report(
                    LogRecord(
                        level: .warning,
                        message: "Error mail attempt \(attempt) failed, retrying in \(delay): \(error)",
                        metadata: [LogSinkHandler.mailMetadataKey: .string(LogSink.suppressedMailValue)],
                        file: #fileID,
                        line: #line,
                        suppressMail: true
                    )
                )
                emit(.attemptFailed(error, attempt: attempt, retryIn: delay))
                await queue.sleep(for: delay)
            }
        }
    }

    private func give(up error: SMTPError, records: [LogRecord], dropped: Int, attempts: Int) {
        report(
            LogRecord(
                level: .error,
                message: "Error mail not delivered after \(attempts) attempt\(attempts == 1 ? "" : "s") "
                    + "(\(error.isPermanent ? "permanent" : "gave up")): \(error); "
                    + "\(records.count) record\(records.count == 1 ? "" : "s") not mailed"
                    + (dropped > 0 ? ", \(dropped) dropped" : ""),
                metadata: [LogSinkHandler.mailMetadataKey: .string(LogSink.suppressedMailValue)],
                file: #fileID,
                line: #line,
                suppressMail: true
            )
        )
        emit(.gaveUp(error, records: records.count, attempts: attempts))
    }

    /// Counts `event` and hands it to the sink's observers.
    private func emit(_ event: MailDeliveryEvent) {
        metrics.count(event)
        events.yield(event)
    }
}
