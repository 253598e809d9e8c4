import Foundation
import GRDB
import Hummingbird

/// hummingbird-auth's session storage, kept in the `session` table so sessions survive restarts and a
/// deleted session (logout) stops working everywhere at once.
public struct DatabasePersistDriver: PersistDriver {
    let database: AppDatabase

    public init(database: AppDatabase) {
        self.database = database
    }

    public func create<Object: Codable & Sendable>(key: String, value: Object, expires: Duration?) async throws {
        let data = try JSONEncoder().encode(value)
        let expiresAt = expires.map { Date.now.timeIntervalSince1970 + $0.seconds }
        do {
            try await database.write { db in
                try db.execute(
                    sql: "INSERT INTO session (key, value, expires_at) VALUES (?, ?, ?)",
                    arguments: [key, data, expiresAt]
                )
            }
        } catch {
            if case .conflict = error { throw PersistError.duplicate }
            throw error
        }
    }

    public func set<Object: Codable & Sendable>(key: String, value: Object, expires: Duration?) async throws {
        let data = try JSONEncoder().encode(value)
        let now = Date.now.timeIntervalSince1970
        let expiresAt = expires.map { now + $0.seconds }
        try await database.write { db in
            if let expiresAt {
                try db.execute(
                    sql: """
                        INSERT INTO session (key, value, expires_at) VALUES (?, ?, ?)
                        ON CONFLICT(key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at
                        """,
                    arguments: [key, data, expiresAt]
                )
                // New sessions are the moment to sweep expired ones; the index on expires_at keeps it cheap.
                try db.execute(sql: "DELETE FROM session WHERE expires_at < ?", arguments: [now])
            } else {
                try db.execute(
                    sql: """
                        INSERT INTO session (key, value, expires_at) VALUES (?, ?, NULL)
                        ON CONFLICT(key) DO UPDATE SET value = excluded.value
                        """,
                    arguments: [key, data]
                )
            }
        }
    }

    public func get<Object: Codable & Sendable>(key: String, as type: Object.Type) async throws -> Object? {
        try await getWithTTL(key: key, as: type)?.object
    }

    public func getWithTTL<Object: Codable & Sendable>(key: String, as type: Object.Type) async throws -> (object: Object, ttl: Duration?)? {
        let now = Date.now.timeIntervalSince1970
        let stored = try await database.read { db -> (data: Data, expiresAt: Double?)? in
            let statement = try db.cachedStatement(sql: "SELECT value, expires_at FROM session WHERE key = ?")
            guard let row = try Row.fetchOne(statement, arguments: [key]) else {
                return nil
            }
            return (row["value"], row["expires_at"])
        }
        guard let (data, expiresAt) = stored else { return nil }
        if let expiresAt, expiresAt <= now { return nil }
        do {
            let object = try JSONDecoder().decode(Object.self, from: data)
            return (object, expiresAt.map { .milliseconds(Int64(($0 - now) * 1000)) })
        } catch {
            throw PersistError.invalidConversion
        }
    }

    public func remove(key: String) async throws {
        try await database.write { db in
            try db.execute(sql: "DELETE FROM session WHERE key = ?", arguments: [key])
        }
    }
}

extension Duration {
    /// The duration in seconds, as a `Double`.
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
