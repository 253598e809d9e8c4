import Foundation

/// Slows down password guessing: after `allowedFailures` failed logins for one account, or
/// `allowedClientFailures` from one client address (more, since many people may share one address), within `window`, further attempts get a 429 page for a backoff that doubles with each further
/// failure (capped), so an attacker is slowed to a crawl while the real owner is never locked out for good.
/// A successful login clears the account's record.
public actor LoginThrottle {
    /// What is being counted: an account (its ``IdentityKey``) or a client address.
    public enum Subject: Hashable, Sendable {
        case account(IdentityKey)
        case client(String)
    }

    private struct Record {
        var failures: Int
        var firstFailure: Date
        var blockedUntil: Date?
    }

    private let allowedFailures: Int
    private let allowedClientFailures: Int
    private let window: TimeInterval
    private let baseBackoff: TimeInterval
    private let maximumBackoff: TimeInterval
    private let maximumRecords: Int
    private let clock: @Sendable () -> Date
    private var records: [Subject: Record] = [:]

    public init(
        allowedFailures: Int = 5,
        allowedClientFailures: Int = 50,
        window: TimeInterval = 15 * 60,
        baseBackoff: TimeInterval = 30,
        maximumBackoff: TimeInterval = 15 * 60,
        maximumRecords: Int = 100_000,
        clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.allowedFailures = allowedFailures
        self.allowedClientFailures = allowedClientFailures
        self.window = window
        self.baseBackoff = baseBackoff
        self.maximumBackoff = maximumBackoff
        self.maximumRecords = maximumRecords
        self.clock = clock
    }

    /// Seconds to wait before another attempt for any of `subjects`, or nil when an attempt may go ahead.
    public func retryAfter(_ subjects: [Subject]) -> Int? {
        let now = clock()
        let waits = subjects.compactMap { records[$0]?.blockedUntil }.filter { $0 > now }
        guard let until = waits.max() else { return nil }
        return max(1, Int(until.timeIntervalSince(now).rounded(.up)))
    }

    /// Records a failed attempt against each subject.
    public func recordFailure(_ subjects: [Subject]) {
        let now = clock()
        if records.count >= maximumRecords { prune(now: now) }
        for subject in subjects {
            var record = records[subject] ?? Record(failures: 0, firstFailure: now, blockedUntil: nil)
            if now.timeIntervalSince(record.firstFailure) > window, record.blockedUntil.map({ $0 <= now }) ?? true {
                record = Record(failures: 0, firstFailure: now, blockedUntil: nil)
            }
            record.failures += 1
            let allowed: Int
            switch subject {
            case .account: allowed = allowedFailures
            case .client: allowed = allowedClientFailures
            }
            if record.failures >= allowed {
                let exponent = Double(min(record.failures - allowed, 16))
                record.blockedUntil = now.addingTimeInterval(min(maximumBackoff, baseBackoff * pow(2, exponent)))
            }
            records[subject] = record
        }
    }

    /// Clears the record of a subject after a successful login.
    public func recordSuccess(_ subject: Subject) {
        records[subject] = nil
    }

    /// Drops records whose window and block are over; if still full, the oldest half.
    private func prune(now: Date) {
        records = records.filter { _, record in
            now.timeIntervalSince(record.firstFailure) <= window || (record.blockedUntil.map { $0 > now } ?? false)
        }
        if records.count >= maximumRecords {
            let sorted = records.sorted { $0.value.firstFailure < $1.value.firstFailure }
            records = Dictionary(uniqueKeysWithValues: sorted.suffix(maximumRecords / 2).map { ($0.key, $0.value) })
        }
    }
}
