import Foundation
import GRDB
import PostgresNIO
import Testing
@testable import Microblog

/// A statement past its budget is stopped by the engine (SQLite's progress handler, PostgreSQL's
/// `statement_timeout`) and the call fails as `.unavailable(.timedOut)`, a 503 page; the reader, the writer or the
/// connection serves the next call.
@Suite("Statement budgets", .timeLimit(.minutes(1)))
struct StatementBudgetTests {
    /// A statement that never ends by itself: counting without a bound.
    static let endless = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"

    @Test("SQLite: an endless read and an endless statement in a write are stopped at their budgets; both serve again")
    func sqlite() async throws {
        let env = try TestEnvironment()
        defer { env.removeFiles() }
        let store = try SQLiteStore.openFile(
            atPath: env.configuration.databasePath, budget: StatementBudget(reads: .seconds(1), writes: .seconds(1))
        )
        await #expect(throws: StoreError.unavailable(.timedOut)) {
            try await store.readOneStatement { db in try Int.fetchOne(db, sql: Self.endless) }
        }
        await #expect(throws: StoreError.unavailable(.timedOut)) {
            try await store.write { db in try Int.fetchOne(db, sql: Self.endless) }
        }
        let user = try await UserRegistry(database: store).register(username: "after", email: "after@example.com", passwordHash: "x")
        try await store.createPost(authorID: try #require(user.id), body: "still writing", at: Date())
        #expect(try await store.newestPosts(perPage: 5).items.map(\.body) == ["still writing"], "the reader serves again")
    }

    @Test("PostgreSQL: a slow read is stopped at the read budget, a slow write at the write budget; the pool serves again")
    func postgres() async throws {
        let env = try await TestEnvironment(.postgres)
        defer { env.removeFiles() }
        var settings = try #require(env.configuration.postgres)
        settings.statementBudget = StatementBudget(reads: .seconds(1), writes: .seconds(5))
        settings.maxConnections = 1
        let store = try await PostgresStore.open(settings, logger: env.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await store.service.run() }
            defer { group.cancelAll() }
            await #expect(throws: StoreError.unavailable(.timedOut)) {
                try await store.withConnection { connection in
                    _ = try await connection.query("SELECT pg_sleep(30)", logger: env.logger).collect()
                }
            }
            // Inside a write transaction the budget is the write one: 1.5 s of sleep passes, 30 s does not.
            try await store.withTransaction { connection in
                _ = try await connection.query("SELECT pg_sleep(1.5)", logger: env.logger).collect()
            }
            await #expect(throws: StoreError.unavailable(.timedOut)) {
                try await store.withTransaction { connection in
                    _ = try await connection.query("SELECT pg_sleep(30)", logger: env.logger).collect()
                }
            }
            let user = try await UserRegistry(database: store).register(username: "after", email: "after@example.com", passwordHash: "x")
            try await store.createPost(authorID: try #require(user.id), body: "still writing", at: Date())
            #expect(try await store.newestPosts(perPage: 5).items.map(\.body) == ["still writing"], "the one connection serves again")
        }
    }
}
