import Foundation
import GRDB

extension SQLiteStore {
    /// Stores a remember-me token: the selector finds it, only the SHA-256 of the validator is kept.
    package func insertRememberToken(selector: String, validatorHash: Data, userID: Int64, expiresAt: Date) async throws(StoreError) {
        try await write { db in
            try db.execute(
                sql: "INSERT INTO remember_token (selector, validator_hash, user_id, expires_at) VALUES (?, ?, ?, ?)",
                arguments: [selector, validatorHash, userID, expiresAt.timeIntervalSince1970]
            )
        }
    }

    package func rememberToken(selector: String, now: Date) async throws(StoreError) -> RememberToken? {
        try await read { db in
            try SQLiteRowReader.first(
                db.cachedStatement(sql: """
                    SELECT validator_hash, previous_hash, rotated_at, user_id FROM remember_token
                    WHERE selector = ? AND expires_at > ?
                    """),
                arguments: [selector, now.timeIntervalSince1970]
            ) { row throws(StoreError) in
                RememberToken(
                    validatorHash: try row.blob("validator_hash"),
                    previousHash: try row.isNull("previous_hash") ? nil : row.blob("previous_hash"),
                    rotatedAt: try row.optionalEpochDate("rotated_at"),
                    userID: try row.int64("user_id")
                )
            }
        }
    }

    package func rotateRememberToken(selector: String, from current: Data, to next: Data, at now: Date) async throws(StoreError) -> Bool {
        try await write { db in
            try db.execute(
                sql: """
                    UPDATE remember_token SET previous_hash = validator_hash, validator_hash = ?, rotated_at = ?
                    WHERE selector = ? AND validator_hash = ?
                    """,
                arguments: [next, now.timeIntervalSince1970, selector, current]
            )
            return db.changesCount == 1
        }
    }

    package func revokeUser(_ userID: Int64) async throws(StoreError) {
        try await write { db in
            try db.execute(sql: "DELETE FROM remember_token WHERE user_id = ?", arguments: [userID])
            try db.execute(sql: "DELETE FROM session WHERE user_id = ?", arguments: [userID])
        }
    }

    /// Revokes a remember-me token.
    package func deleteRememberToken(selector: String) async throws(StoreError) {
        try await write { db in
            try db.execute(sql: "DELETE FROM remember_token WHERE selector = ?", arguments: [selector])
        }
    }
}
