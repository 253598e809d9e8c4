import GRDB
import PostgresNIO
import Testing
@testable import Microblog

/// Raw statements on a test's store, whichever the engine, for what the ``Store`` protocol rightly does not
/// offer: a write that skips the store's own checks (so only the schema stands in the way), and a whole-table count.
enum StoreBackdoor {
    /// Sets a user's username with a bare UPDATE in one transaction, without the in-transaction check of
    /// ``Store/updateProfile(userID:username:usernameKey:lookAlikeKey:aboutMe:)``: only the UNIQUE index can refuse it.
    static func renameBypassingChecks(_ store: any Store, userID: Int64, to name: String) async throws(StoreError) {
        let key = IdentityKey(name).rawValue
        switch store {
        case let sqlite as SQLiteStore:
            try await sqlite.write { db in
                try db.execute(sql: "UPDATE user SET username = ?, username_key = ? WHERE id = ?", arguments: [name, key, userID])
            }
        case let postgres as PostgresStore:
            let logger = postgres.logger
            try await postgres.withTransaction { connection in
                _ = try await connection.query(
                    #"UPDATE "user" SET username = \#(name), username_key = \#(key) WHERE id = \#(userID)"#,
                    logger: logger
                )
            }
        default:
            Issue.record("no raw access to \(type(of: store))")
        }
    }

    /// Runs one statement that answers nothing, on whichever engine `store` is, in a transaction of its own.
    static func execute(
        _ store: any Store,
        sqlite sql: String,
        arguments: StatementArguments = [],
        postgres query: PostgresQuery
    ) async throws(StoreError) {
        switch store {
        case let sqlite as SQLiteStore:
            try await sqlite.write { db in try db.execute(sql: sql, arguments: arguments) }
        case let postgres as PostgresStore:
            let logger = postgres.logger
            try await postgres.withConnection { connection in _ = try await connection.query(query, logger: logger) }
        default:
            Issue.record("no raw access to \(type(of: store))")
        }
    }

    /// How many users are stored.
    static func userCount(_ store: any Store) async throws -> Int {
        try await count(store, sqlite: "SELECT COUNT(*) FROM user", postgres: #"SELECT count(*) FROM "user""#)
    }

    /// The single number a counting statement answers, on whichever engine `store` is.
    static func count(
        _ store: any Store,
        sqlite sql: String,
        arguments: StatementArguments = [],
        postgres query: PostgresQuery
    ) async throws -> Int {
        switch store {
        case let sqlite as SQLiteStore:
            return try await sqlite.read { db in try Int.fetchOne(db, sql: sql, arguments: arguments) ?? 0 }
        case let postgres as PostgresStore:
            let logger = postgres.logger
            return try await postgres.withConnection { connection in
                var count = 0
                for try await value in try await connection.query(query, logger: logger).decode(Int.self) { count = value }
                return count
            }
        default:
            Issue.record("no raw access to \(type(of: store))")
            return -1
        }
    }

    /// The number of rows in every table of the schema, by table name.
    static func rowCounts(_ store: any Store) async throws -> [String: Int] {
        switch store {
        case let sqlite as SQLiteStore:
            return try await sqlite.read { db in
                let tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
                var counts: [String: Int] = [:]
                for table in tables {
                    counts[table] = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \"\(table)\"") ?? 0
                }
                return counts
            }
        case let postgres as PostgresStore:
            let logger = postgres.logger
            return try await postgres.withConnection { connection in
                var tables: [String] = []
                for try await name in try await connection.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'", logger: logger)
                    .decode(String.self) { tables.append(name) }
                var counts: [String: Int] = [:]
                for table in tables {
                    let rows = try await connection.query("SELECT count(*) FROM \"\(unescaped: table)\"", logger: logger)
                    for try await count in rows.decode(Int.self) { counts[table] = count }
                }
                return counts
            }
        default:
            Issue.record("no raw access to \(type(of: store))")
            return [:]
        }
    }
}

extension Store {
    /// All users holding this username key: the schema allows at most one, and tests check that it holds.
    func countUsers(usernameKey key: IdentityKey) async throws -> Int {
        try await StoreBackdoor.count(
            self,
            sqlite: "SELECT COUNT(*) FROM user WHERE username_key = ?",
            arguments: [key.rawValue],
            postgres: #"SELECT count(*) FROM "user" WHERE username_key = \#(key.rawValue)"#
        )
    }

    /// How many username keys more than one user holds: the schema allows none, and tests check that it holds.
    func countDuplicateUsernameKeys() async throws -> Int {
        try await StoreBackdoor.count(
            self,
            sqlite: "SELECT COUNT(*) FROM (SELECT username_key FROM user GROUP BY username_key HAVING COUNT(*) > 1)",
            postgres: #"SELECT count(*) FROM (SELECT username_key FROM "user" GROUP BY username_key HAVING count(*) > 1) AS duplicates"#
        )
    }
}
