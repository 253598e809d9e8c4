/// What a ``LogSink`` runs on, sends mail through and waits with: in production its own thread, SMTP and the system
/// clock; in the deterministic simulation, the simulation's executor, a transport that fails when told, and virtual
/// time.
package struct LogSinkRuntime: Sendable {
    /// The actor's executor; nil: a thread of its own, where the file is written.
    package var executor: (any SerialExecutor)?
    /// The mail transport for a configuration.
    package var transport: @Sendable (MailConfiguration) -> any MailTransport
    /// Waits for a duration (the mail loop's coalescing window and retry backoff).
    package var sleep: @Sendable (Duration) async throws -> Void

    package init(
        executor: (any SerialExecutor)?,
        transport: @escaping @Sendable (MailConfiguration) -> any MailTransport,
        sleep: @escaping @Sendable (Duration) async throws -> Void
    ) {
        self.executor = executor
        self.transport = transport
        self.sleep = sleep
    }

    /// A thread of its own, SMTP, and the system clock.
    package static let production = LogSinkRuntime(
        executor: nil,
        transport: { SMTPClient(configuration: $0) },
        sleep: { try await Task.sleep(for: $0) }
    )
}

/// Delivers one mail message, or says why not (``SMTPError/isPermanent`` tells whether a retry could help).
package protocol MailTransport: Sendable {
    func send(_ message: MailMessage) async throws(SMTPError)
}

extension SMTPClient: MailTransport {}
