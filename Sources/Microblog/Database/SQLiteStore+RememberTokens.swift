import Foundation
import GRDB

extension SQLiteStore {
    /// Stores a remember-me token: the selector finds it, only the SHA-256 of the validator is kept.
    public func insertRememberToken(selector: String, validatorHash: Data, userID: Int64, expiresAt: Date) async throws(StoreError) {
        try await write { db in
            try db.execute(
                sql: "INSERT INTO remember_token (selector, validator_hash, user_id, expires_at) VALUES (?, ?, ?, ?)",
                arguments: [selector, validatorHash, userID, expiresAt.timeIntervalSince1970]
            )
        }
    }

    /// The unexpired token with this selector: its validator hash and user id.
    public func rememberToken(selector: String, now: Date) async throws(StoreError) -> (validatorHash: Data, userID: Int64)? {
        try await read { db in
            try SQLiteRowReader.first(
                db.cachedStatement(sql: "SELECT validator_hash, user_id FROM remember_token WHERE selector = ? AND expires_at > ?"),
                arguments: [selector, now.timeIntervalSince1970]
            ) { row throws(StoreError) in
                (try row.blob("validator_hash"), try row.int64("user_id"))
            }
        }
    }

    /// Revokes a remember-me token.
    public func deleteRememberToken(selector: String) async throws(StoreError) {
        try await write { db in
            try db.execute(sql: "DELETE FROM remember_token WHERE selector = ?", arguments: [selector])
        }
    }
}
