import Foundation
import PostgresNIO

extension PostgresStore {
    public func insertRememberToken(selector: String, validatorHash: Data, userID: Int64, expiresAt: Date) async throws(StoreError) {
        let logger = logger
        try await withConnection { connection in
            _ = try await connection.query(
                """
                INSERT INTO remember_token (selector, validator_hash, user_id, expires_at)
                VALUES (\(selector), \(validatorHash), \(userID), \(expiresAt))
                """,
                logger: logger
            )
        }
    }

    public func rememberToken(selector: String, now: Date) async throws(StoreError) -> (validatorHash: Data, userID: Int64)? {
        let logger = logger
        return try await withConnection { connection in
            let rows = try await connection.query(
                "SELECT validator_hash, user_id FROM remember_token WHERE selector = \(selector) AND expires_at > \(now)",
                logger: logger
            ).collect()
            guard let row = rows.first else { return nil }
            let (hash, userID) = try row.decode((Data, Int64).self)
            return (hash, userID)
        }
    }

    public func deleteRememberToken(selector: String) async throws(StoreError) {
        let logger = logger
        try await withConnection { connection in
            _ = try await connection.query("DELETE FROM remember_token WHERE selector = \(selector)", logger: logger)
        }
    }
}
