import Foundation
import PostgresNIO

extension PostgresStore {
    /// Counts one attempt for `limit`'s subject unless it is blocked, and returns the new count; no row when it is
    /// blocked. The same statement as SQLite's (`SQLiteStore.admitLoginAttemptSQL`); `INSERT ... ON CONFLICT DO
    /// UPDATE` locks the subject's row until the transaction ends, so instances count one after the other.
    static func admitLoginAttemptQuery(_ limit: LoginLimit, now: Date) -> PostgresQuery {
        let (subject, allowed) = (limit.subject, Int32(clamping: limit.allowed))
        let (window, base, maximum, retention) = (limit.window, limit.baseBackoff, limit.maximumBackoff, limit.retention)
        return """
            INSERT INTO login_failure AS f (subject, failures, first_failure, blocked_until, forget_at)
            VALUES (\(subject), 1, \(now),
                    CASE WHEN 1 >= \(allowed) THEN \(now) + make_interval(secs => \(base)) END,
                    \(now) + make_interval(secs => \(retention)))
            ON CONFLICT (subject) DO UPDATE SET
                failures = CASE WHEN f.first_failure + make_interval(secs => \(window)) < \(now) THEN 1 ELSE f.failures + 1 END,
                first_failure = CASE WHEN f.first_failure + make_interval(secs => \(window)) < \(now) THEN \(now) ELSE f.first_failure END,
                blocked_until = CASE
                    WHEN (CASE WHEN f.first_failure + make_interval(secs => \(window)) < \(now) THEN 1 ELSE f.failures + 1 END) >= \(allowed)
                    THEN \(now) + make_interval(secs => LEAST(\(maximum), \(base) * (1 << LEAST(
                        (CASE WHEN f.first_failure + make_interval(secs => \(window)) < \(now) THEN 1 ELSE f.failures + 1 END) - \(allowed), 16))))
                END,
                forget_at = \(now) + make_interval(secs => \(retention))
            WHERE f.blocked_until IS NULL OR f.blocked_until <= \(now)
            RETURNING failures
            """
    }

    package func admitLoginAttempt(_ limits: [LoginLimit], now: Date) async throws(StoreError) -> Date? {
        let logger = logger
        return try await withTransaction { connection -> Date? in
            _ = try await connection.query("DELETE FROM login_failure WHERE forget_at < \(now)", logger: logger)
            // A savepoint, rolled back whole when one subject is blocked: then nothing is counted.
            _ = try await connection.query("SAVEPOINT admit_login_attempt", logger: logger)
            for limit in limits {
                let rows = try await connection.query(Self.admitLoginAttemptQuery(limit, now: now), logger: logger).collect()
                if let row = rows.first {
                    _ = try StoredValue.count(Int64(row.decode(Int32.self)), column: "failures")
                    continue
                }
                let blocked = try await connection.query(
                    "SELECT blocked_until FROM login_failure WHERE subject = \(limit.subject)", logger: logger
                ).collect()
                let until = try blocked.first?.decode(Date?.self).map { date throws(StoreError) in
                    try StoredValue.date(date, column: "blocked_until")
                }
                _ = try await connection.query("ROLLBACK TO SAVEPOINT admit_login_attempt", logger: logger)
                return (until ?? nil) ?? now
            }
            _ = try await connection.query("RELEASE SAVEPOINT admit_login_attempt", logger: logger)
            return nil
        }
    }

    package func settleLoginAttempt(clearing: [String], releasing: [LoginLimit]) async throws(StoreError) {
        let logger = logger
        // Each statement locks its subject's row until the transaction ends: the rows are taken in the order admission
        // takes them (sorted by subject), so that a settle and an admission never wait for each other in a cycle.
        let statements = (clearing.map { (subject: $0, release: nil as LoginLimit?) } + releasing.map { ($0.subject, $0) })
            .sorted { $0.subject < $1.subject }
        try await withTransaction { connection in
            for (subject, release) in statements {
                guard let limit = release else {
                    _ = try await connection.query("DELETE FROM login_failure WHERE subject = \(subject)", logger: logger)
                    continue
                }
                let allowed = Int32(clamping: limit.allowed)
                _ = try await connection.query(
                    """
                    UPDATE login_failure SET failures = GREATEST(failures - 1, 0),
                        blocked_until = CASE WHEN failures - 1 < \(allowed) THEN NULL ELSE blocked_until END
                    WHERE subject = \(subject)
                    """,
                    logger: logger
                )
            }
        }
    }
}
