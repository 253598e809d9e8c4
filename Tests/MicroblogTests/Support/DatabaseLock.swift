import Foundation
import Logging
import PostgresNIO
@testable import Microblog

/// Another client of a test's database holding the lock that a write needs, as another process would: on
/// SQLite the write lock (``WriteLockHolder``), on PostgreSQL an open transaction holding `LOCK TABLE <table> IN
/// EXCLUSIVE MODE` on one table (`post` unless told; others may still read it, no one may write it).
actor DatabaseLock {
    private let env: TestEnvironment
    private let table: String
    private var sqlite: WriteLockHolder?
    private var postgres: PostgresConnection?

    init(_ env: TestEnvironment, table: String = "post") {
        self.env = env
        self.table = table
    }

    func take() async throws {
        guard let settings = env.configuration.postgres else {
            sqlite = try WriteLockHolder(path: env.configuration.databasePath)
            return
        }
        let logger = Logger(label: "test-lock")
        let connection = try await PostgresStore.connectDirectly(settings, logger: logger)
        try await connection.query("BEGIN", logger: logger)
        try await connection.query("LOCK TABLE \(unescaped: table) IN EXCLUSIVE MODE", logger: logger)
        postgres = connection
    }

    func release() async throws {
        sqlite?.release()
        sqlite = nil
        if let connection = postgres {
            postgres = nil
            try await connection.query("ROLLBACK", logger: Logger(label: "test-lock"))
            try await connection.close()
        }
    }
}
