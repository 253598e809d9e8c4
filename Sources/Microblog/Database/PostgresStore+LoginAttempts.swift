import Foundation
import PostgresNIO

extension PostgresStore {
    public func loginFailures(subjects: [String]) async throws(StoreError) -> [String: LoginFailures] {
        let logger = logger
        return try await withConnection { connection in
            let rows = try await connection.query(
                "SELECT subject, failures, first_failure, blocked_until FROM login_failure WHERE subject = ANY(\(subjects))",
                logger: logger
            ).collect()
            var records: [String: LoginFailures] = [:]
            for row in rows {
                let (subject, record) = try Self.decodeLoginFailure(row)
                records[subject] = record
            }
            return records
        }
    }

    public func updateLoginFailures(
        subjects: [String],
        now: Date,
        _ update: @escaping @Sendable (_ subject: String, LoginFailures?) -> (LoginFailures, forgetAt: Date)?
    ) async throws(StoreError) {
        let logger = logger
        try await withTransaction { connection in
            _ = try await connection.query("DELETE FROM login_failure WHERE forget_at < \(now)", logger: logger)
            // A subject's record may not exist yet, so a row lock cannot guard it: transaction-scoped advisory locks
            // on the subjects do, taken in one order so that two instances never wait for each other in a cycle.
            // The rows are read to the end, so a lock that times out fails here (55P03, a 503), not the next statement.
            let ordered = subjects.sorted()
            _ = try await connection.query(
                "SELECT pg_advisory_xact_lock(hashtextextended(subject, 0)) FROM unnest(\(ordered)::text[]) AS subject",
                logger: logger
            ).collect()
            var current: [String: LoginFailures] = [:]
            for row in try await connection.query(
                "SELECT subject, failures, first_failure, blocked_until FROM login_failure WHERE subject = ANY(\(ordered))",
                logger: logger
            ).collect() {
                let (subject, record) = try Self.decodeLoginFailure(row)
                current[subject] = record
            }
            for subject in ordered {
                guard let (record, forgetAt) = update(subject, current[subject]) else {
                    _ = try await connection.query("DELETE FROM login_failure WHERE subject = \(subject)", logger: logger)
                    continue
                }
                let failures = Int32(clamping: record.failures)
                _ = try await connection.query(
                    """
                    INSERT INTO login_failure (subject, failures, first_failure, blocked_until, forget_at)
                    VALUES (\(subject), \(failures), \(record.firstFailure), \(record.blockedUntil), \(forgetAt))
                    ON CONFLICT (subject) DO UPDATE SET failures = excluded.failures,
                        first_failure = excluded.first_failure, blocked_until = excluded.blocked_until,
                        forget_at = excluded.forget_at
                    """,
                    logger: logger
                )
            }
        }
    }

    /// A row of `subject, failures, first_failure, blocked_until`, with the values ``StoredValue`` allows.
    private static func decodeLoginFailure(_ row: PostgresRow) throws -> (subject: String, record: LoginFailures) {
        let (subject, failures, firstFailure, blockedUntil) = try row.decode((String, Int32, Date, Date?).self)
        let record = LoginFailures(
            failures: try StoredValue.count(Int64(failures), column: "failures"),
            firstFailure: try StoredValue.date(firstFailure, column: "first_failure"),
            blockedUntil: try blockedUntil.map { date throws(StoreError) in try StoredValue.date(date, column: "blocked_until") }
        )
        return (subject, record)
    }
}
