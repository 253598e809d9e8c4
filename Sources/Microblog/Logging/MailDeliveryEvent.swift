/// What happened to an error mail; observe them through ``LogSink/mailEvents``.
package enum MailDeliveryEvent: Sendable, Equatable {
    /// The mail listing `records` records (and stating `dropped` dropped ones) was accepted on attempt `attempt`.
    case delivered(records: Int, dropped: Int, attempt: Int)
    /// Attempt `attempt` failed with a transient error; the next one follows after `retryIn`.
    case attemptFailed(SMTPError, attempt: Int, retryIn: Duration)
    /// The mail was abandoned after `attempts` attempts: a permanent error, the attempt limit, or shutdown.
    case gaveUp(SMTPError, records: Int, attempts: Int)
}
