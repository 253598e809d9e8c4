import CoreMetrics

/// What the ``LogSink`` counts: records written to the file or dropped, failed writes of the file, the error mail
/// queue's depth and how each mail attempt went.
package struct LogSinkMetrics: Sendable {
    let recordsWritten: Counter
    let recordsDropped: Counter
    let fileFailures: Counter
    let mailQueueDepth: Meter
    let mailSent: Counter
    let mailRetried: Counter
    let mailFailed: Counter

    package init(factory: any MetricsFactory) {
        recordsWritten = Counter(label: "microblog_log_records_total", dimensions: [("outcome", "written")], factory: factory)
        recordsDropped = Counter(label: "microblog_log_records_total", dimensions: [("outcome", "dropped")], factory: factory)
        fileFailures = Counter(label: "microblog_log_file_failures_total", factory: factory)
        mailQueueDepth = Meter(label: "microblog_mail_queue_depth", factory: factory)
        mailSent = Counter(label: "microblog_mail_total", dimensions: [("outcome", "sent")], factory: factory)
        mailRetried = Counter(label: "microblog_mail_total", dimensions: [("outcome", "retried")], factory: factory)
        mailFailed = Counter(label: "microblog_mail_total", dimensions: [("outcome", "failed")], factory: factory)
    }

    /// Metrics that go nowhere.
    package static let none = LogSinkMetrics(factory: NOOPMetricsHandler.instance)

    /// Counts a mail's delivery event.
    func count(_ event: MailDeliveryEvent) {
        switch event {
        case .delivered: mailSent.increment()
        case .attemptFailed: mailRetried.increment()
        case .gaveUp: mailFailed.increment()
        }
    }
}
