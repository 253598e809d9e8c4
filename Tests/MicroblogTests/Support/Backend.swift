import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import Testing
@testable import Microblog

/// The storage engines a parameterised test runs against.
///
/// PostgreSQL needs `MICROBLOG_TEST_POSTGRES_URL` (a superuser's URL to a throwaway cluster), which the test
/// command (`Tests/scripts/test-all.sh`) sets after starting one. Without it a PostgreSQL case fails with a
/// message saying so: it never passes silently.
enum Backend: String, Sendable, CaseIterable, CustomTestStringConvertible {
    case sqlite
    case postgres

    /// Both engines: the arguments of every test that checks behaviour through the store.
    static let all: [Backend] = Backend.allCases

    var testDescription: String { rawValue == "sqlite" ? "SQLite" : "PostgreSQL" }

    /// The test cluster's administrative URL.
    static func postgresAdminURL() throws -> PostgresSettings {
        guard let url = ProcessInfo.processInfo.environment["MICROBLOG_TEST_POSTGRES_URL"], let settings = PostgresSettings(url: url)
        else { throw BackendUnavailable() }
        return settings
    }

    /// Creates an empty database of its own for one test, and returns how to reach it.
    static func makePostgresDatabase() async throws -> PostgresSettings {
        var settings = try postgresAdminURL()
        // Small pools: many tests run at once against one cluster. Generous timeouts: under ThreadSanitizer the
        // whole suite runs on two cores, and opening a connection took over the default 5 s.
        settings.maxConnections = 8
        settings.connectTimeout = .seconds(30)
        settings.queryTimeout = .seconds(30)
        // A statement on two loaded cores (ThreadSanitizer, the suite in parallel) may take long; the budget tests set
        // their own.
        settings.statementBudget = StatementBudget(reads: .seconds(30), writes: .seconds(30))
        let name = "microblog_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let logger = Logger(label: "test-database")
        let connection = try await PostgresStore.connectDirectly(settings, logger: logger)
        do {
            try await connection.query("CREATE DATABASE \(unescaped: name)", logger: logger)
            try await connection.close()
        } catch {
            try? await connection.close()
            throw error
        }
        settings.database = name
        return settings
    }
}

/// A PostgreSQL case run without the test command's cluster.
struct BackendUnavailable: Error, CustomStringConvertible {
    var description: String {
        "MICROBLOG_TEST_POSTGRES_URL is not set: run Tests/scripts/test-all.sh, which starts a PostgreSQL cluster for the tests"
    }
}

extension PostgresSettings {
    /// The settings as a `DATABASE_URL`, for a server process.
    var url: String {
        "postgres://\(username)@\(host):\(port)/\(database)"
    }
}
