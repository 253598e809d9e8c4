import Foundation
import PostgresNIO

extension PostgresStore {
    public func insertSession(key: String, value: Data, expiresAt: Date?) async throws(StoreError) {
        let logger = logger
        try await withConnection { connection in
            _ = try await connection.query(
                "INSERT INTO session (key, value, expires_at) VALUES (\(key), \(value), \(expiresAt))",
                logger: logger
            )
        }
    }

    public func saveSession(key: String, value: Data, expiresAt: Date?, now: Date) async throws(StoreError) {
        let logger = logger
        try await withTransaction { connection in
            if let expiresAt {
                try await connection.query(
                    """
                    INSERT INTO session (key, value, expires_at) VALUES (\(key), \(value), \(expiresAt))
                    ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at
                    """,
                    logger: logger
                )
                // New sessions are the moment to sweep expired ones; the index on expires_at keeps it cheap.
                try await connection.query("DELETE FROM session WHERE expires_at < \(now)", logger: logger)
            } else {
                try await connection.query(
                    """
                    INSERT INTO session (key, value, expires_at) VALUES (\(key), \(value), NULL)
                    ON CONFLICT (key) DO UPDATE SET value = excluded.value
                    """,
                    logger: logger
                )
            }
        }
    }

    public func session(key: String) async throws(StoreError) -> (value: Data, expiresAt: Date?)? {
        let logger = logger
        return try await withConnection { connection in
            let rows = try await connection.query(
                "SELECT value, expires_at FROM session WHERE key = \(key)",
                logger: logger
            ).collect()
            guard let row = rows.first else { return nil }
            let (value, expiresAt) = try row.decode((Data, Date?).self)
            return (value, expiresAt)
        }
    }

    public func deleteSession(key: String) async throws(StoreError) {
        let logger = logger
        try await withConnection { connection in
            _ = try await connection.query("DELETE FROM session WHERE key = \(key)", logger: logger)
        }
    }
}
