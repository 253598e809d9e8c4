import Foundation
import GRDB

extension SQLiteStore {
    package func saveSession(
        key: String, value: Data, userID: Int64?, expiresAt: Date?, now: Date, sessionsPerUser: Int
    ) async throws(StoreError) {
        try await write { db in
            if let expiresAt {
                try db.execute(
                    sql: """
                        INSERT INTO session (key, value, user_id, expires_at) VALUES (?, ?, ?, ?)
                        ON CONFLICT(key) DO UPDATE SET value = excluded.value, user_id = excluded.user_id,
                            expires_at = excluded.expires_at
                        """,
                    arguments: [key, value, userID, expiresAt.timeIntervalSince1970]
                )
                // New sessions are the moment to sweep expired ones; the index on expires_at keeps it cheap.
                try db.execute(sql: "DELETE FROM session WHERE expires_at < ?", arguments: [now.timeIntervalSince1970])
                if let userID {
                    // The user's oldest sessions past the bound go (the index on user_id, expires_at finds them).
                    try db.execute(
                        sql: """
                            DELETE FROM session WHERE user_id = ?1 AND key NOT IN (
                                SELECT key FROM session WHERE user_id = ?1 ORDER BY expires_at DESC LIMIT ?2
                            )
                            """,
                        arguments: [userID, sessionsPerUser]
                    )
                }
            } else {
                try db.execute(
                    sql: """
                        INSERT INTO session (key, value, user_id, expires_at) VALUES (?, ?, ?, NULL)
                        ON CONFLICT(key) DO UPDATE SET value = excluded.value, user_id = excluded.user_id
                        """,
                    arguments: [key, value, userID]
                )
            }
        }
    }

    package func session(key: String) async throws(StoreError) -> (value: Data, expiresAt: Date?, user: User?)? {
        try await readOneStatement { db -> (value: Data, expiresAt: Date?, user: User?)? in
            let statement = try db.cachedStatement(sql: """
                SELECT session.value AS session_value, session.expires_at AS session_expires_at, user.*
                FROM session LEFT JOIN user ON user.id = session.user_id
                WHERE session.key = ?
                """)
            return try SQLiteRowReader.first(statement, arguments: [key]) { row throws(StoreError) in
                // The user's columns are NULL when the join found none.
                let user: User? = try row.isNull("id") ? nil : User(row)
                return (try row.blob("session_value"), try row.optionalEpochDate("session_expires_at"), user)
            }
        }
    }

    package func deleteSession(key: String) async throws(StoreError) {
        try await write { db in
            try db.execute(sql: "DELETE FROM session WHERE key = ?", arguments: [key])
        }
    }
}
