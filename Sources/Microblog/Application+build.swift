import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import Prometheus
import ServiceLifecycle

/// What the composition root needs besides configuration: the logger, and the fault and race hooks tests
/// inject. Production uses the defaults.
public struct AppDependencies: Sendable {
    public var logger: Logger
    package var databaseFaults: DatabaseFaults
    package var registryHooks: RegistryHooks
    /// Long-running services to run beside the HTTP server, which stops first (the log sink).
    package var services: [any Service]
    /// Where the application's metrics are kept; the metrics listener serves it when `METRICS_PORT` is set.
    package var prometheus: PrometheusCollectorRegistry
    /// The password work's budgets (tests hold places in it); nil: ``PasswordWork/Budget/default(threads:)``.
    var passwordWork: PasswordWork?

    package init(
        logger: Logger = Logger(label: "microblog"),
        databaseFaults: DatabaseFaults = .none,
        registryHooks: RegistryHooks = .none,
        services: [any Service] = [],
        prometheus: PrometheusCollectorRegistry = PrometheusCollectorRegistry()
    ) {
        self.prometheus = prometheus
        self.logger = logger
        self.databaseFaults = databaseFaults
        self.registryHooks = registryHooks
        self.services = services
    }
}

extension AppDependencies {
    init(logger: Logger, prometheus: PrometheusCollectorRegistry, passwordWork: PasswordWork) {
        self.init(logger: logger, prometheus: prometheus)
        self.passwordWork = passwordWork
    }
}

/// Builds the whole application: the store (SQLite, or PostgreSQL when `DATABASE_URL` says so), registry, middleware in their deliberate order, routes.
/// The server's `main` and every test call this one function.
public func buildApplication(
    configuration: AppConfiguration,
    dependencies: AppDependencies
) async throws -> some ApplicationProtocol {
    try configuration.checkDebugAddress()
    try LookAlikeKey.checkAvailable()
    let logger = dependencies.logger
    let metrics = AppMetrics(factory: PrometheusMetricsFactory.microblog(registry: dependencies.prometheus))
    let database: any Store
    var services = dependencies.services
    if let postgres = configuration.postgres {
        let store = try await PostgresStore.open(postgres, logger: logger, faults: dependencies.databaseFaults, metrics: metrics)
        // First in the list: services stop in reverse order, so the pool closes after the server and the log sink.
        services.insert(store.service, at: 0)
        database = store
    } else {
        let store = try SQLiteStore.openFile(
            atPath: configuration.databasePath,
            busyTimeout: configuration.busyTimeout,
            budget: configuration.statementBudget,
            faults: dependencies.databaseFaults
        )
        if store.isReadOnly {
            logger.warning("The database file \(configuration.databasePath) is read-only: pages that read are served, writes answer 503")
        } else {
            // PostgreSQL's are assigned with its migrations, before its pool runs.
            LookAlikeName.report(try await store.assignLookAlikeKeys(), to: logger)
        }
        database = store
    }
    let pages = ErrorPages(debug: configuration.debug, metrics: metrics)
    let router = try await buildRouter(
        configuration: configuration, database: database, pages: pages, metrics: metrics, dependencies: dependencies
    )
    if let port = configuration.metricsPort {
        services.append(MetricsListener.application(
            registry: dependencies.prometheus, host: configuration.metricsHost, port: port, logger: logger
        ))
    }
    // Last in the list: stopped before the log sink, so its final summary is written.
    services.append(ClientErrorSummary(pages: pages, interval: .seconds(60), logger: logger))
    var app = Application(
        router: router,
        server: .microblogHTTP1(httpConfiguration(configuration.limits, logger: logger)),
        configuration: .init(
            address: .hostname(configuration.host, port: configuration.port),
            serverName: "Microblog",
            availableConnectionsDelegate: MaximumAvailableConnections(configuration.limits.maxConnections, logger: logger)
        ),
        onServerRunning: { channel in
            // After the bind: with PORT=0 this is the port the kernel chose.
            logger.info("Microblog listening on http://\(configuration.host):\(channel.localAddress?.port ?? configuration.port)")
        },
        logger: logger
    )
    app.addServices(services)
    return app
}

/// HTTP/1.1 with the per-connection limits: header limits in the parser (past them: 400 and close), the
/// deadlines of a ``RequestDeadlineHandler`` on every connection, and a close after a `Connection: close` answer.
func httpConfiguration(_ limits: ConnectionLimits, logger: Logger) -> HTTP1Channel.Configuration {
    HTTP1Channel.Configuration(
        additionalChannelHandlers: [RequestDeadlineHandler(limits: limits, logger: logger), CloseAfterResponseHandler()],
        httpDecoderConfiguration: .init(
            maxHeaderFieldSize: limits.maxHeadBytes,
            maxHeaderListSize: limits.maxHeadBytes,
            maxHeaderFieldCount: limits.maxHeaderCount
        )
    )
}

/// The router with its middleware and controllers.
func buildRouter(
    configuration: AppConfiguration,
    database: any Store,
    pages: ErrorPages,
    metrics: AppMetrics,
    dependencies: AppDependencies
) async throws -> Router<AppRequestContext> {
    let registry = UserRegistry(database: database, hooks: dependencies.registryHooks, metrics: metrics)
    let passwords = PasswordHasher(
        cost: configuration.bcryptCost,
        metrics: metrics,
        work: dependencies.passwordWork ?? PasswordWork(budget: configuration.passwordWork)
    )
    let rememberMe = RememberMe(
        database: database,
        secretKey: configuration.secretKey,
        fallbacks: configuration.secretKeyFallbacks,
        duration: configuration.rememberDuration,
        secureCookies: configuration.effectiveSecureCookies,
        rotationGrace: configuration.rememberRotationGrace
    )

    let signedOutCSRF = SignedOutCSRF(
        secretKey: configuration.secretKey, fallbacks: configuration.secretKeyFallbacks, secureCookies: configuration.effectiveSecureCookies
    )

    let router = Router(context: AppRequestContext.self, options: .autoGenerateHeadEndpoints)
    // Middleware order: request metrics -> request log -> security headers -> fallback error pages -> the client and the
    // public origin (trusted proxies, ALLOWED_HOSTS) -> the session and its user (a store failure while loading it is a 503) ->
    // remember-me and last seen -> flashed messages -> error pages in the layout -> CSRF -> routes.
    // Requests are counted and timed through swift-metrics' global factory (the server bootstraps Prometheus).
    router.add(middleware: MetricsMiddleware())
    // Each request at DEBUG: at the default INFO the 10 KiB log file keeps what matters (errors), not traffic.
    router.add(middleware: LogRequestsMiddleware(.debug, includeHeaders: .none))
    router.add(middleware: SecurityHeadersMiddleware())
    router.add(middleware: ErrorPagesMiddleware(pages: pages, withLayout: false))
    router.add(middleware: ClientOriginMiddleware(
        trusted: configuration.trustedProxies,
        publicURL: configuration.publicURL.flatMap(PublicOrigin.init(url:)),
        allowedHosts: configuration.effectiveAllowedHosts
    ))
    router.add(middleware: SessionMiddleware(
        database: database,
        duration: configuration.sessionDuration,
        sessionsPerUser: configuration.sessionsPerUser,
        secureCookies: configuration.effectiveSecureCookies
    ))
    router.add(middleware: CurrentUserMiddleware(database: database, rememberMe: rememberMe, pages: pages, metrics: metrics))
    router.add(middleware: FlashMiddleware(cookies: FlashCookie(
        secretKey: configuration.secretKey, fallbacks: configuration.secretKeyFallbacks, secureCookies: configuration.effectiveSecureCookies
    )))
    router.add(middleware: ErrorPagesMiddleware(pages: pages, withLayout: true))
    router.add(middleware: CSRFMiddleware(signedOut: signedOutCSRF, signedOutForms: AuthController.signedOutForms))

    AuthController(
        database: database,
        registry: registry,
        passwords: passwords,
        rememberMe: rememberMe,
        throttle: LoginThrottle(policy: configuration.loginThrottle, store: database),
        devices: DeviceCookie(
            secretKey: configuration.secretKey, fallbacks: configuration.secretKeyFallbacks, secureCookies: configuration.effectiveSecureCookies
        ),
        signedOutCSRF: signedOutCSRF,
        metrics: metrics
    ).addRoutes(to: router)
    MainController(database: database, registry: registry, postsPerPage: configuration.postsPerPage)
        .addRoutes(to: router)
    HealthController(database: database, deadline: configuration.healthCheckTimeout).addRoutes(to: router)
    MethodNotAllowed.addResponders(to: router)
    return router
}
