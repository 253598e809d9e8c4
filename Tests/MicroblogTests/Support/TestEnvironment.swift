import Foundation
import Hummingbird
import HummingbirdTesting
import InMemoryLogging
import Logging
@testable import Microblog

/// A fresh temporary folder with a configuration pointing into it: each test gets its own database file, or
/// its own PostgreSQL database.
struct TestEnvironment: Sendable {
    private let folder: TemporaryDirectory
    var directory: URL { URL(fileURLWithPath: folder.path, isDirectory: true) }
    let backend: Backend
    var configuration: AppConfiguration
    let logs: InMemoryLogHandler
    var databaseFaults: DatabaseFaults = .none
    var registryHooks: RegistryHooks = .none

    /// An environment on SQLite.
    init(debug: Bool = false) throws {
        try self.init(.sqlite, postgres: nil, debug: debug)
    }

    /// An environment on `backend`: for PostgreSQL, with a new database of its own in the test cluster.
    init(_ backend: Backend, debug: Bool = false) async throws {
        let postgres = backend == .postgres ? try await Backend.makePostgresDatabase() : nil
        try self.init(backend, postgres: postgres, debug: debug)
    }

    private init(_ backend: Backend, postgres: PostgresSettings?, debug: Bool) throws {
        self.backend = backend
        folder = try TemporaryDirectory("microblog-tests")
        configuration = AppConfiguration(
            secretKey: "test-secret-key-" + UUID().uuidString + UUID().uuidString,
            databasePath: folder.file("app.db"),
            postgres: postgres,
            debug: debug,
            host: "127.0.0.1",
            port: 0,
            bcryptCost: 4,
            postsPerPage: 3,
            // Statements on two loaded cores may take long; StatementBudgetTests set their own budgets.
            statementBudget: StatementBudget(reads: .seconds(30), writes: .seconds(30)),
            // Generous: on two loaded cores (ThreadSanitizer, the suite in parallel) a healthy store's answer can
            // take more than the production second. The outage tests rely on the store's own timeouts.
            healthCheckTimeout: .seconds(30),
            // Every test's visitors come from 127.0.0.1, many of them at once: the per-client budgets are the
            // throttle tests' own business (LoginThrottleTests sets them).
            loginThrottle: LoginThrottle.Policy(allowedClientFailures: Self.generousClientBudget, allowedRegistrations: Self.generousClientBudget),
            // Races send 64 registrations at once: shedding is the password work tests' business.
            passwordWork: PasswordWork.Budget(logins: Self.generousClientBudget, registrations: Self.generousClientBudget)
        )
        logs = InMemoryLogHandler()
        Artifacts.secret(configuration.secretKey, kind: "SECRET_KEY")
    }

    /// The per-client login and registration budgets of a test's server.
    static let generousClientBudget = 1_000_000

    var logger: Logger {
        let handler = logs
        var logger = Logger(label: "microblog-test") { _ in handler }
        logger.logLevel = .info
        return logger
    }

    func makeApplication() async throws -> some ApplicationProtocol {
        try await buildApplication(
            configuration: configuration,
            dependencies: AppDependencies(logger: logger, databaseFaults: databaseFaults, registryHooks: registryHooks)
        )
    }

    /// Builds the application and runs `body` against it with the given test client.
    func withApp<Value>(
        _ setup: TestingSetup = .router,
        _ body: @escaping @Sendable (any TestClientProtocol) async throws -> Value
    ) async throws -> Value {
        let app = try await makeApplication()
        return try await app.test(setup, body)
    }

    /// Opens the test's database directly, to check what a request stored.
    func openDatabase() throws -> SQLiteStore {
        try SQLiteStore.openFile(atPath: configuration.databasePath)
    }

    /// Runs `body` with the test's store, whichever the backend: to check what requests stored.
    func withStore<Value: Sendable>(_ body: @escaping @Sendable (any Store) async throws -> Value) async throws -> Value {
        guard let postgres = configuration.postgres else { return try await body(openDatabase()) }
        let store = try await PostgresStore.open(postgres, logger: logger)
        return try await withThrowingTaskGroup(of: Value?.self) { group in
            group.addTask {
                try await store.service.run()
                return nil
            }
            defer { group.cancelAll() }
            return try await body(store)
        }
    }

    /// The `DATABASE_URL` of the test's database, for a server process.
    var databaseURL: String {
        configuration.postgres?.url ?? configuration.databasePath
    }

    /// The environment of a server process (the real executable) on this test's database, secret key and log
    /// folder, with the test's pool size and timeouts on PostgreSQL.
    var serverEnvironment: [String: String] {
        var environment = [
            "DATABASE_URL": databaseURL,
            "SECRET_KEY": configuration.secretKey,
            "BCRYPT_COST": "4",
            "LOG_DIR": directory.appendingPathComponent("logs").path,
            "LOGIN_ATTEMPTS_PER_CLIENT": String(Self.generousClientBudget),
            "REGISTRATIONS_PER_HOUR": String(Self.generousClientBudget),
            "PASSWORD_WORK_LOGINS": String(Self.generousClientBudget),
            "PASSWORD_WORK_REGISTRATIONS": String(Self.generousClientBudget),
            "DATABASE_READ_TIMEOUT": "30",
            "DATABASE_WRITE_TIMEOUT": "30",
        ]
        if let postgres = configuration.postgres {
            environment["DATABASE_POOL_SIZE"] = String(postgres.maxConnections)
            environment["DATABASE_CONNECT_TIMEOUT"] = String(postgres.connectTimeout.components.seconds)
            environment["DATABASE_QUERY_TIMEOUT"] = String(postgres.queryTimeout.components.seconds)
        }
        return environment
    }

    /// Removes the test's folder, keeping its log files and the in-memory log for the secrets check first.
    func removeFiles() {
        Artifacts.keep(logs.entries.map { "\($0.level) \($0.message) \($0.metadata)" }.joined(separator: "\n"), as: "memory.log")
        folder.remove()
    }
}
