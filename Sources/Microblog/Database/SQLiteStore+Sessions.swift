import Foundation
import GRDB

extension SQLiteStore {
    public func insertSession(key: String, value: Data, expiresAt: Date?) async throws(StoreError) {
        try await write { db in
            try db.execute(
                sql: "INSERT INTO session (key, value, expires_at) VALUES (?, ?, ?)",
                arguments: [key, value, expiresAt?.timeIntervalSince1970]
            )
        }
    }

    public func saveSession(key: String, value: Data, expiresAt: Date?, now: Date) async throws(StoreError) {
        try await write { db in
            if let expiresAt {
                try db.execute(
                    sql: """
                        INSERT INTO session (key, value, expires_at) VALUES (?, ?, ?)
                        ON CONFLICT(key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at
                        """,
                    arguments: [key, value, expiresAt.timeIntervalSince1970]
                )
                // New sessions are the moment to sweep expired ones; the index on expires_at keeps it cheap.
                try db.execute(sql: "DELETE FROM session WHERE expires_at < ?", arguments: [now.timeIntervalSince1970])
            } else {
                try db.execute(
                    sql: """
                        INSERT INTO session (key, value, expires_at) VALUES (?, ?, NULL)
                        ON CONFLICT(key) DO UPDATE SET value = excluded.value
                        """,
                    arguments: [key, value]
                )
            }
        }
    }

    public func session(key: String) async throws(StoreError) -> (value: Data, expiresAt: Date?)? {
        try await readOneStatement { db -> (value: Data, expiresAt: Date?)? in
            let statement = try db.cachedStatement(sql: "SELECT value, expires_at FROM session WHERE key = ?")
            guard let row = try Row.fetchOne(statement, arguments: [key]) else { return nil }
            let expiresAt: Double? = row["expires_at"]
            return (row["value"], expiresAt.map { Date(timeIntervalSince1970: $0) })
        }
    }

    public func deleteSession(key: String) async throws(StoreError) {
        try await write { db in
            try db.execute(sql: "DELETE FROM session WHERE key = ?", arguments: [key])
        }
    }
}
