import CoreMetrics

/// The microblog's own metrics, made once per application from one swift-metrics factory (Prometheus in the
/// server, a test's own registry in tests). Every label value comes from a closed set: no user names, ids,
/// paths or addresses.
package struct AppMetrics: Sendable {
    /// How a claim of a username, its look-alike key or an e-mail address ended.
    package enum ClaimOutcome: String, Sendable, CaseIterable {
        /// The claim was written.
        case won
        /// Told "taken" before the write: by the registry's reservation or by the form's advisory look-up.
        case rejected
        /// Lost at the database: its check inside the write transaction, or the UNIQUE index.
        case conflict
    }

    /// The statuses of the error pages the site renders.
    package static let errorStatuses = [400, 403, 404, 405, 408, 413, 429, 500, 503]

    private let claims: [String: Counter]
    private let errorPages: [Int: Counter]
    private let unavailable: [String: Counter]
    let sessionsCreated: Counter
    let loginThrottled: Counter
    /// Password work refused at once because its kind's budget was full, by kind (`login`, `registration`).
    let passwordWorkShed: [PasswordWork.Kind: Counter]
    /// Client mistakes answered without a page of their own (an invalid remember-me cookie), by kind.
    let clientMistakes: Counter
    private let factory: any MetricsFactory

    package init(factory: any MetricsFactory) {
        var claims: [String: Counter] = [:]
        for field in ["username", "look_alike", "email"] {
            for outcome in ClaimOutcome.allCases {
                claims["\(field) \(outcome.rawValue)"] = Counter(
                    label: "microblog_registry_claims_total",
                    dimensions: [("field", field), ("outcome", outcome.rawValue)],
                    factory: factory
                )
            }
        }
        self.claims = claims
        errorPages = Dictionary(uniqueKeysWithValues: Self.errorStatuses.map { status in
            (status, Counter(label: "microblog_error_pages_total", dimensions: [("status", String(status))], factory: factory))
        })
        unavailable = Dictionary(uniqueKeysWithValues: ["busy", "read_only", "moved", "disk_full", "outage", "timeout"].map { cause in
            (cause, Counter(label: "microblog_unavailable_total", dimensions: [("cause", cause)], factory: factory))
        })
        sessionsCreated = Counter(label: "microblog_sessions_created_total", factory: factory)
        loginThrottled = Counter(label: "microblog_login_throttled_total", factory: factory)
        passwordWorkShed = Dictionary(uniqueKeysWithValues: PasswordWork.Kind.allCases.map { kind in
            (kind, Counter(label: "microblog_password_work_shed_total", dimensions: [("kind", kind.rawValue)], factory: factory))
        })
        clientMistakes = Counter(
            label: "microblog_client_mistakes_total", dimensions: [("kind", "invalid_remember_cookie")], factory: factory
        )
        self.factory = factory
    }

    /// The gauge of PostgreSQL connections leased from the pool, made only when that engine is on.
    func databaseConnectionsInUse() -> Meter {
        Meter(label: "microblog_database_connections_in_use", factory: factory)
    }

    /// Metrics that go nowhere.
    package static let none = AppMetrics(factory: NOOPMetricsHandler.instance)

    /// Counts a claim's outcome.
    func claim(_ field: StoreError.UniqueField, _ outcome: ClaimOutcome) {
        let name = switch field {
        case .username: "username"
        case .lookAlike: "look_alike"
        case .email: "email"
        case .other: ""
        }
        claims["\(name) \(outcome.rawValue)"]?.increment()
    }

    /// Counts an error page by its status, and a 503's cause.
    func errorPage(status: Int, unavailable reason: StoreError.Unavailability? = nil) {
        errorPages[status]?.increment()
        guard let reason else { return }
        let cause = switch reason {
        case .busy: "busy"
        case .readOnly: "read_only"
        case .moved: "moved"
        case .full: "disk_full"
        case .unreachable: "outage"
        case .timedOut: "timeout"
        }
        unavailable[cause]?.increment()
    }
}
