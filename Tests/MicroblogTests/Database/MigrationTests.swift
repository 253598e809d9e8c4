import Foundation
import GRDB
import Logging
import PostgresNIO
import Testing
@testable import Microblog

/// Migrations applied to a database an earlier version of the server made.
@Suite("Migrations on an existing database")
struct MigrationTests {
    static let sessionOfAlice = #"{"userID":1,"csrfToken":"t"}"#
    static let sessionOfNobody = #"{"userID":99,"csrfToken":"t"}"#

    @Test("v3 gives the sessions stored before it their user (a session naming no existing user keeps none), on SQLite")
    func sessionOwnersBackfilledOnSQLite() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("old.db")
        // A database as the server left it before v3.
        let queue = try DatabaseQueue(path: path)
        try SQLiteStore.migrator.migrate(queue, upTo: "v2: failed logins")
        try await queue.write { db in
            try db.execute(sql: """
                INSERT INTO user (id, username, username_key, email, email_key, password_hash, last_seen)
                VALUES (1, 'alice', 'alice', 'a@example.com', 'a@example.com', 'x', '2026-01-01 00:00:00.000')
                """)
            try db.execute(sql: "INSERT INTO session (key, value, expires_at) VALUES ('a', ?, 1e10), ('b', ?, 1e10), ('c', X'FF00', 1e10)",
                           arguments: [Data(Self.sessionOfAlice.utf8), Data(Self.sessionOfNobody.utf8)])
        }
        try queue.close()

        let store = try SQLiteStore.openFile(atPath: path)
        let owners = try await store.read { db in
            try Row.fetchAll(db, sql: "SELECT key, user_id FROM session ORDER BY key").map { row -> String in
                "\(try row.decode(String.self, forColumn: "key"))=\(try row.decode(Int64?.self, forColumn: "user_id").map(String.init) ?? "nil")"
            }
        }
        #expect(owners == ["a=1", "b=nil", "c=nil"])
        #expect(try await store.session(key: "a")?.user?.username == "alice", "the session still reads as before")
    }

    @Test("v3 gives the sessions stored before it their user, on PostgreSQL")
    func sessionOwnersBackfilledOnPostgres() async throws {
        let settings = try await Backend.makePostgresDatabase()
        let logger = Logger(label: "migration-test")
        // A database as the server left it before v3: the first two migrations, recorded as applied.
        let connection = try await PostgresStore.connectDirectly(settings, logger: logger)
        do {
            try await connection.query("CREATE TABLE microblog_migration (name TEXT PRIMARY KEY)", logger: logger)
            for migration in PostgresStore.migrations.prefix(2) {
                for statement in migration.statements { try await connection.query(statement, logger: logger) }
                try await connection.query("INSERT INTO microblog_migration (name) VALUES (\(migration.name))", logger: logger)
            }
            try await connection.query(#"""
                INSERT INTO "user" (id, username, username_key, email, email_key, password_hash, last_seen)
                VALUES (1, 'alice', 'alice', 'a@example.com', 'a@example.com', 'x', now())
                """#, logger: logger)
            let (alice, nobody) = (Data(Self.sessionOfAlice.utf8), Data(Self.sessionOfNobody.utf8))
            try await connection.query(
                "INSERT INTO session (key, value) VALUES ('a', \(alice)), ('b', \(nobody)), ('c', '\\xff00'::bytea)", logger: logger
            )
            try await connection.close()
        } catch {
            try? await connection.close()
            throw error
        }

        try await PostgresStore.migrate(settings, logger: logger)
        let check = try await PostgresStore.connectDirectly(settings, logger: logger)
        var owners: [String] = []
        for try await (key, userID) in try await check.query("SELECT key, user_id FROM session ORDER BY key", logger: logger)
            .decode((String, Int64?).self) {
            owners.append("\(key)=\(userID.map(String.init) ?? "nil")")
        }
        try await check.close()
        #expect(owners == ["a=1", "b=nil", "c=nil"])
    }
}
