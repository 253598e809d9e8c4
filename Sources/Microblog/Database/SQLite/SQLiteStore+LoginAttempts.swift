import Foundation
import GRDB

extension SQLiteStore {
    /// Counts one attempt for a subject unless it is blocked, and returns the new count; no row when it is blocked.
    /// Parameters: ?1 subject, ?2 now, ?3 window, ?4 allowed, ?5 base backoff, ?6 maximum backoff, ?7 retention
    /// (seconds; times are seconds since 1970). The count starts again at 1 once the window has passed.
    static let admitLoginAttemptSQL = """
        INSERT INTO login_failure (subject, failures, first_failure, blocked_until, forget_at)
        VALUES (?1, 1, ?2, CASE WHEN 1 >= ?4 THEN ?2 + ?5 END, ?2 + ?7)
        ON CONFLICT (subject) DO UPDATE SET
            failures = CASE WHEN first_failure + ?3 < ?2 THEN 1 ELSE failures + 1 END,
            first_failure = CASE WHEN first_failure + ?3 < ?2 THEN ?2 ELSE first_failure END,
            blocked_until = CASE
                WHEN (CASE WHEN first_failure + ?3 < ?2 THEN 1 ELSE failures + 1 END) >= ?4
                THEN ?2 + min(?6, ?5 * (1 << min((CASE WHEN first_failure + ?3 < ?2 THEN 1 ELSE failures + 1 END) - ?4, 16)))
            END,
            forget_at = ?2 + ?7
        WHERE blocked_until IS NULL OR blocked_until <= ?2
        RETURNING failures
        """

    package func admitLoginAttempt(_ limits: [LoginLimit], now: Date) async throws(StoreError) -> Date? {
        // One write transaction holds SQLite's one write lock: no other instance counts in between. The subjects'
        // statements run in a savepoint that is rolled back whole when one of them is blocked.
        try await write { db -> Date? in
            let seconds = now.timeIntervalSince1970
            try db.execute(sql: "DELETE FROM login_failure WHERE forget_at < ?", arguments: [seconds])
            var refusedUntil: Date?
            try db.inSavepoint {
                for limit in limits {
                    let count = try SQLiteRowReader.first(
                        db.cachedStatement(sql: Self.admitLoginAttemptSQL),
                        arguments: [limit.subject, seconds, limit.window, limit.allowed, limit.baseBackoff, limit.maximumBackoff, limit.retention]
                    ) { row throws(StoreError) in try StoredValue.count(row.int64("failures"), column: "failures") }
                    if count == nil {
                        let blockedUntil = try SQLiteRowReader.first(
                            db.cachedStatement(sql: "SELECT blocked_until FROM login_failure WHERE subject = ?"),
                            arguments: [limit.subject]
                        ) { row throws(StoreError) in try row.optionalEpochDate("blocked_until") }
                        refusedUntil = (blockedUntil ?? nil) ?? now
                        return .rollback
                    }
                }
                return .commit
            }
            return refusedUntil
        }
    }

    package func settleLoginAttempt(clearing: [String], releasing: [LoginLimit]) async throws(StoreError) {
        try await write { db in
            for subject in clearing {
                try db.execute(sql: "DELETE FROM login_failure WHERE subject = ?", arguments: [subject])
            }
            for limit in releasing {
                try db.execute(
                    sql: """
                        UPDATE login_failure SET failures = max(failures - 1, 0),
                            blocked_until = CASE WHEN failures - 1 < ? THEN NULL ELSE blocked_until END
                        WHERE subject = ?
                        """,
                    arguments: [limit.allowed, limit.subject]
                )
            }
        }
    }
}
