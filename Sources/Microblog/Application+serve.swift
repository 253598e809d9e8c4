import Hummingbird
import Logging
import ServiceLifecycle
import UnixSignals
import Synchronization

/// Serves `app` until SIGTERM or SIGINT, then stops gracefully, in this order: the listener closes (a new connection
/// is refused, so a proxy tries another instance), idle keep-alive connections close, each request in flight is
/// answered and its connection closed, then the other services stop (the log sink last, with everything queued
/// written). Past `shutdownTimeout` whatever still runs is cancelled, so the process ends in bounded time: a request
/// still in flight then (one whose client stopped sending, say) is dropped unanswered and its connection closed.
public func serve(_ app: some ApplicationProtocol, shutdownTimeout: Duration, logger: Logger) async throws {
    let stopping = ShutdownAnnouncement(timeout: shutdownTimeout, logger: logger)
    // Services stop in reverse order: the announcement first, then the application (the HTTP server, then its
    // services).
    var configuration = ServiceGroupConfiguration(
        services: [app, stopping],
        gracefulShutdownSignals: [.sigterm, .sigint],
        logger: logger
    )
    configuration.maximumGracefulShutdownDuration = shutdownTimeout
    try await ServiceGroup(configuration: configuration).run()
    // The log sink has stopped: these lines go to stderr only.
    if let elapsed = stopping.elapsed() {
        if elapsed >= shutdownTimeout {
            logger.warning(
                "Microblog stopped: the shutdown took longer than \(shutdownTimeout.components.seconds) s, what still ran was cancelled"
            )
        } else {
            logger.info("Microblog stopped \(elapsed.wholeMilliseconds) ms after the signal")
        }
    }
}

/// Says when a graceful shutdown begins, and how long it has taken so far.
final class ShutdownAnnouncement: Service {
    private let timeout: Duration
    private let logger: Logger
    private let began = Mutex<ContinuousClock.Instant?>(nil)

    init(timeout: Duration, logger: Logger) {
        self.timeout = timeout
        self.logger = logger
    }

    func run() async throws {
        try? await gracefulShutdown()
        began.withLock { $0 = $0 ?? .now }
        logger.info(
            "Microblog stopping: new connections refused, requests in flight finishing (at most \(timeout.components.seconds) s)"
        )
    }

    /// The time since the shutdown began; nil when it never did.
    func elapsed() -> Duration? {
        began.withLock { $0.map { .now - $0 } }
    }
}
