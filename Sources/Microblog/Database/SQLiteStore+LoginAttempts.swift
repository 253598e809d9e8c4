import Foundation
import GRDB

extension SQLiteStore {
    public func loginFailures(subjects: [String]) async throws(StoreError) -> [String: LoginFailures] {
        try await read { db in
            var records: [String: LoginFailures] = [:]
            for subject in subjects {
                records[subject] = try Self.loginFailure(db, subject: subject)
            }
            return records
        }
    }

    public func updateLoginFailures(
        subjects: [String],
        now: Date,
        _ update: @escaping @Sendable (_ subject: String, LoginFailures?) -> (LoginFailures, forgetAt: Date)?
    ) async throws(StoreError) {
        // A write transaction holds SQLite's one write lock, so no other instance changes a record in between.
        try await write { db in
            try db.execute(sql: "DELETE FROM login_failure WHERE forget_at < ?", arguments: [now.timeIntervalSince1970])
            for subject in subjects {
                guard let (record, forgetAt) = update(subject, try Self.loginFailure(db, subject: subject)) else {
                    try db.execute(sql: "DELETE FROM login_failure WHERE subject = ?", arguments: [subject])
                    continue
                }
                try db.execute(
                    sql: """
                        INSERT INTO login_failure (subject, failures, first_failure, blocked_until, forget_at)
                        VALUES (?, ?, ?, ?, ?)
                        ON CONFLICT (subject) DO UPDATE SET failures = excluded.failures,
                            first_failure = excluded.first_failure, blocked_until = excluded.blocked_until,
                            forget_at = excluded.forget_at
                        """,
                    arguments: [
                        subject, record.failures, record.firstFailure.timeIntervalSince1970,
                        record.blockedUntil?.timeIntervalSince1970, forgetAt.timeIntervalSince1970,
                    ]
                )
            }
        }
    }

    private static func loginFailure(_ db: Database, subject: String) throws -> LoginFailures? {
        try SQLiteRowReader.first(
            db.cachedStatement(sql: "SELECT failures, first_failure, blocked_until FROM login_failure WHERE subject = ?"),
            arguments: [subject]
        ) { row throws(StoreError) in
            LoginFailures(
                failures: try StoredValue.count(row.int64("failures"), column: "failures"),
                firstFailure: try row.epochDate("first_failure"),
                blockedUntil: try row.optionalEpochDate("blocked_until")
            )
        }
    }
}
