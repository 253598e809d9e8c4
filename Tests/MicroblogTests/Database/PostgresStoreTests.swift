import Foundation
import Logging
import PostgresNIO
import Testing
@testable import Microblog

/// What the PostgreSQL store promises beyond the parameterised suites: `23505` on either key mapped to
/// the same conflicts, and migrations that two instances can run at once.
@Suite("PostgresStore")
struct PostgresStoreTests {
    /// Opens `count` stores (each its own pool, as separate server instances have) on the test's database and
    /// runs `body` with them while their pools run.
    static func withStores<Value: Sendable>(
        _ env: TestEnvironment,
        count: Int,
        _ body: @escaping @Sendable ([PostgresStore]) async throws -> Value
    ) async throws -> Value {
        let settings = try #require(env.configuration.postgres)
        let stores = try await withThrowingTaskGroup(of: PostgresStore.self) { group in
            for _ in 0..<count {
                group.addTask { try await PostgresStore.open(settings, logger: Logger(label: "test")) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        return try await withThrowingTaskGroup(of: Value?.self) { group in
            for store in stores {
                group.addTask {
                    try await store.service.run()
                    return nil
                }
            }
            defer { group.cancelAll() }
            return try await body(stores)
        }
    }

    @Test("The UNIQUE constraints are the backstop: a write that skips the checks gets the same conflicts")
    func uniqueConstraintBackstop() async throws {
        let env = try await TestEnvironment(.postgres)
        defer { env.removeFiles() }
        try await Self.withStores(env, count: 1) { stores async throws in
            let database = stores[0]
            let registry = UserRegistry(database: database)
            let first = try await registry.register(username: "taken", email: "taken@example.com", passwordHash: "x")
            let second = try await registry.register(username: "other", email: "other@example.com", passwordHash: "x")
            let key = IdentityKey("TAKEN").rawValue
            let email = IdentityKey("Taken@Example.com").rawValue
            let byName = await #expect(throws: StoreError.self) {
                try await database.withConnection { connection in
                    _ = try await connection.query(#"UPDATE "user" SET username_key = \#(key) WHERE id = \#(second.id!)"#, logger: Logger(label: "test"))
                }
            }
            #expect(byName == .conflict(.username))
            #expect(RegistryError(byName!) == .usernameTaken)
            let byEmail = await #expect(throws: StoreError.self) {
                try await database.withConnection { connection in
                    _ = try await connection.query(#"UPDATE "user" SET email_key = \#(email) WHERE id = \#(second.id!)"#, logger: Logger(label: "test"))
                }
            }
            #expect(byEmail == .conflict(.email))
            #expect(try await database.user(id: first.id!)?.username == "taken")
        }
    }

    @Test("Instances starting together migrate once; opening again changes nothing")
    func concurrentMigrations() async throws {
        let env = try await TestEnvironment(.postgres)
        defer { env.removeFiles() }
        try await Self.withStores(env, count: 4) { stores async throws in
            let applied = try await stores[0].withConnection { connection in
                try await connection.query("SELECT name FROM microblog_migration", logger: Logger(label: "test"))
                    .collect().map { try $0.decode(String.self) }
            }
            #expect(applied == PostgresStore.migrations.map(\.name))
        }
        try await Self.withStores(env, count: 1) { stores async throws in
            #expect(try await stores[0].countDuplicateUsernameKeys() == 0)
        }
    }
}
