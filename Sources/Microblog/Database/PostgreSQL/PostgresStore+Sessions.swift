import Foundation
import PostgresNIO

extension PostgresStore {
    package func saveSession(
        key: String, value: Data, userID: Int64?, expiresAt: Date?, now: Date, sessionsPerUser: Int
    ) async throws(StoreError) {
        let logger = logger
        try await withTransaction { connection in
            if let expiresAt {
                try await connection.query(
                    """
                    INSERT INTO session (key, value, user_id, expires_at) VALUES (\(key), \(value), \(userID), \(expiresAt))
                    ON CONFLICT (key) DO UPDATE SET value = excluded.value, user_id = excluded.user_id,
                        expires_at = excluded.expires_at
                    """,
                    logger: logger
                )
                // New sessions are the moment to sweep expired ones; the index on expires_at keeps it cheap.
                try await connection.query("DELETE FROM session WHERE expires_at < \(now)", logger: logger)
                if let userID {
                    // The user's oldest sessions past the bound go (the index on user_id, expires_at finds them).
                    let bound = Int64(sessionsPerUser)
                    try await connection.query(
                        """
                        DELETE FROM session WHERE user_id = \(userID) AND key NOT IN (
                            SELECT key FROM session WHERE user_id = \(userID) ORDER BY expires_at DESC NULLS LAST LIMIT \(bound)
                        )
                        """,
                        logger: logger
                    )
                }
            } else {
                try await connection.query(
                    """
                    INSERT INTO session (key, value, user_id, expires_at) VALUES (\(key), \(value), \(userID), NULL)
                    ON CONFLICT (key) DO UPDATE SET value = excluded.value, user_id = excluded.user_id
                    """,
                    logger: logger
                )
            }
        }
    }

    package func session(key: String) async throws(StoreError) -> (value: Data, expiresAt: Date?, user: User?)? {
        let logger = logger
        return try await withConnection { connection in
            let rows = try await connection.rows(Self.sessionQuery(key: key), as: PreparedStatements.Session.self, logger: logger)
            guard let row = rows.first else { return nil }
            let cells = row.makeRandomAccess()
            let expiresAt = try cells["expires_at"].decode(Date?.self).map { date throws(StoreError) in
                try StoredValue.date(date, column: "expires_at")
            }
            return (try cells["value"].decode(Data.self), expiresAt, try Self.decodeUserIfPresent(row))
        }
    }

    /// The query of ``session(key:)``.
    static func sessionQuery(key: String) -> PostgresQuery {
        #"""
        SELECT \#(unescaped: Self.userColumns), session.value, session.expires_at
        FROM session LEFT JOIN "user" ON "user".id = session.user_id
        WHERE session.key = \#(key)
        """#
    }

    package func deleteSession(key: String) async throws(StoreError) {
        let logger = logger
        try await withConnection { connection in
            _ = try await connection.query("DELETE FROM session WHERE key = \(key)", logger: logger)
        }
    }
}
