import Foundation
import PostgresNIO

extension PostgresStore {
    package func insertRememberToken(selector: String, validatorHash: Data, userID: Int64, expiresAt: Date) async throws(StoreError) {
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

    package func rememberToken(selector: String, now: Date) async throws(StoreError) -> RememberToken? {
        let logger = logger
        return try await withConnection { connection in
            let rows = try await connection.query(
                """
                SELECT validator_hash, previous_hash, rotated_at, user_id FROM remember_token
                WHERE selector = \(selector) AND expires_at > \(now)
                """,
                logger: logger
            ).collect()
            guard let row = rows.first else { return nil }
            let (hash, previous, rotatedAt, userID) = try row.decode((Data, Data?, Date?, Int64).self)
            return RememberToken(
                validatorHash: hash,
                previousHash: previous,
                rotatedAt: try rotatedAt.map { date throws(StoreError) in try StoredValue.date(date, column: "rotated_at") },
                userID: userID
            )
        }
    }

    package func rotateRememberToken(selector: String, from current: Data, to next: Data, at now: Date) async throws(StoreError) -> Bool {
        let logger = logger
        return try await withConnection { connection in
            let rows = try await connection.query(
                """
                UPDATE remember_token SET previous_hash = validator_hash, validator_hash = \(next), rotated_at = \(now)
                WHERE selector = \(selector) AND validator_hash = \(current)
                RETURNING id
                """,
                logger: logger
            ).collect()
            return rows.count == 1
        }
    }

    package func revokeUser(_ userID: Int64) async throws(StoreError) {
        let logger = logger
        try await withTransaction { connection in
            _ = try await connection.query("DELETE FROM remember_token WHERE user_id = \(userID)", logger: logger)
            _ = try await connection.query("DELETE FROM session WHERE user_id = \(userID)", logger: logger)
        }
    }

    package func deleteRememberToken(selector: String) async throws(StoreError) {
        let logger = logger
        try await withConnection { connection in
            _ = try await connection.query("DELETE FROM remember_token WHERE selector = \(selector)", logger: logger)
        }
    }
}
