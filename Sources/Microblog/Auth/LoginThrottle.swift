import Crypto
import Foundation

/// Slows down password guessing: after `allowedFailures` failed logins for one account, or
/// `allowedClientFailures` from one client address (more, since many people may share one address), within
/// `window`, further attempts get a 429 page for a backoff that doubles with each further failure (capped), so an
/// attacker is slowed to a crawl while the real owner is never locked out for good. A successful login clears the
/// account's record.
///
/// The records live in the store, so every instance on one database counts the same failures: N instances do not
/// give an attacker N times the attempts. Subjects are stored as SHA-256 digests, never as names or addresses.
public struct LoginThrottle: Sendable {
    /// What is being counted: an account (its ``IdentityKey``) or a client address.
    public enum Subject: Hashable, Sendable {
        case account(IdentityKey)
        case client(String)

        /// How the store names the subject: a digest, bounded in length whatever the client sent.
        var storageKey: String {
            let text: String
            switch self {
            case .account(let key): text = "account:" + key.rawValue
            case .client(let address): text = "client:" + address
            }
            return Data(SHA256.hash(data: Data(text.utf8))).base64EncodedString()
        }
    }

    /// The limits and the clock.
    public struct Policy: Sendable {
        public var allowedFailures: Int
        public var allowedClientFailures: Int
        public var window: TimeInterval
        public var baseBackoff: TimeInterval
        public var maximumBackoff: TimeInterval
        public var clock: @Sendable () -> Date

        public init(
            allowedFailures: Int = 5,
            allowedClientFailures: Int = 50,
            window: TimeInterval = 15 * 60,
            baseBackoff: TimeInterval = 30,
            maximumBackoff: TimeInterval = 15 * 60,
            clock: @escaping @Sendable () -> Date = { Date() }
        ) {
            self.allowedFailures = allowedFailures
            self.allowedClientFailures = allowedClientFailures
            self.window = window
            self.baseBackoff = baseBackoff
            self.maximumBackoff = maximumBackoff
            self.clock = clock
        }

        /// Failures allowed before `subject` is blocked.
        func allowedFailures(for subject: Subject) -> Int {
            switch subject {
            case .account: allowedFailures
            case .client: allowedClientFailures
            }
        }

        /// `record` after one more failure at `now`, and when the store may forget it.
        func failing(_ record: LoginFailures?, allowed: Int, now: Date) -> (LoginFailures, forgetAt: Date) {
            var record = record ?? LoginFailures(failures: 0, firstFailure: now, blockedUntil: nil)
            if now.timeIntervalSince(record.firstFailure) > window, record.blockedUntil.map({ $0 <= now }) ?? true {
                record = LoginFailures(failures: 0, firstFailure: now, blockedUntil: nil)
            }
            record.failures += 1
            if record.failures >= allowed {
                let exponent = Double(min(record.failures - allowed, 16))
                record.blockedUntil = now.addingTimeInterval(min(maximumBackoff, baseBackoff * pow(2, exponent)))
            }
            let windowEnd = record.firstFailure.addingTimeInterval(window)
            return (record, max(windowEnd, record.blockedUntil ?? windowEnd))
        }
    }

    let policy: Policy
    let store: any Store

    public init(policy: Policy, store: any Store) {
        self.policy = policy
        self.store = store
    }

    /// Seconds to wait before another attempt for any of `subjects`, or nil when an attempt may go ahead.
    public func retryAfter(_ subjects: [Subject]) async throws(StoreError) -> Int? {
        let now = policy.clock()
        let records = try await store.loginFailures(subjects: subjects.map(\.storageKey))
        let waits = records.values.compactMap(\.blockedUntil).filter { $0 > now }
        guard let until = waits.max() else { return nil }
        return max(1, Int(until.timeIntervalSince(now).rounded(.up)))
    }

    /// Records a failed attempt against each subject.
    public func recordFailure(_ subjects: [Subject]) async throws(StoreError) {
        let now = policy.clock()
        let policy = policy
        let limits = Dictionary(subjects.map { ($0.storageKey, policy.allowedFailures(for: $0)) }) { first, _ in first }
        try await store.updateLoginFailures(subjects: Array(limits.keys), now: now) { key, record in
            policy.failing(record, allowed: limits[key] ?? policy.allowedFailures, now: now)
        }
    }

    /// Clears the record of a subject after a successful login.
    public func recordSuccess(_ subject: Subject) async throws(StoreError) {
        try await store.updateLoginFailures(subjects: [subject.storageKey], now: policy.clock()) { _, _ in nil }
    }
}

/// One subject's failed logins, as the store keeps them for ``LoginThrottle``.
public struct LoginFailures: Sendable, Equatable {
    public var failures: Int
    public var firstFailure: Date
    public var blockedUntil: Date?

    public init(failures: Int, firstFailure: Date, blockedUntil: Date?) {
        self.failures = failures
        self.firstFailure = firstFailure
        self.blockedUntil = blockedUntil
    }
}
