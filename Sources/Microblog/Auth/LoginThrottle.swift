import Crypto
import Foundation

/// Slows down password guessing without handing an attacker a way to lock the owner out.
///
/// An attempt is admitted and counted before the password is checked, for every subject it concerns, in one atomic
/// step in the store (``Store/admitLoginAttempt(_:now:)``): reserve, verify, settle, as ``UserRegistry`` claims names.
/// So however many attempts arrive at once, on however many instances sharing the database, at most a subject's
/// allowance of them reaches the password check within its window; past it the subject is blocked for a backoff that
/// doubles with each further admitted attempt (capped), a 429 page with `Retry-After`.
///
/// Whose attempt it is decides what it counts against (OWASP's device cookies):
/// - a browser that has logged in as the user before carries a signed ``DeviceCookie`` naming that user: its
///   attempts count against that device only, so failures from elsewhere never lock the owner out of their browser;
/// - any other attempt counts against the account and against the client's network (an IPv4 address, an IPv6 /64),
///   which gets more attempts than one account since many people may share it.
/// A successful login clears the account's (or device's) record and gives the client's attempt back.
///
/// Subjects are stored as SHA-256 digests, never as names or addresses.
package struct LoginThrottle: Sendable {
    /// What an attempt is counted against.
    package enum Subject: Hashable, Sendable {
        /// An account, by its ``IdentityKey``.
        case account(IdentityKey)
        /// A client network: see ``ClientNetwork``.
        case client(String)
        /// A browser holding a device cookie, by the cookie's random nonce.
        case device(String)
        /// Registrations from a client network.
        case registrations(String)

        /// How the store names the subject: a digest, bounded in length whatever the client sent.
        var storageKey: String {
            let text: String
            switch self {
            case .account(let key): text = "account:" + key.rawValue
            case .client(let network): text = "client:" + network
            case .device(let nonce): text = "device:" + nonce
            case .registrations(let network): text = "registrations:" + network
            }
            return Data(SHA256.hash(data: Data(text.utf8))).base64EncodedString()
        }
    }

    /// The allowances, their window and backoff, and the clock.
    package struct Policy: Sendable {
        /// Attempts for one account within ``window`` (from browsers without its device cookie).
        package var allowedFailures: Int
        /// Attempts from one client network within ``window``.
        package var allowedClientFailures: Int
        /// Attempts from one device (a browser with a device cookie for the account) within ``window``.
        package var allowedDeviceFailures: Int
        /// Registrations from one client network within ``registrationWindow``.
        package var allowedRegistrations: Int
        package var window: TimeInterval
        package var registrationWindow: TimeInterval
        package var baseBackoff: TimeInterval
        package var maximumBackoff: TimeInterval
        package var clock: @Sendable () -> Date

        package init(
            allowedFailures: Int = 5,
            allowedClientFailures: Int = 50,
            allowedDeviceFailures: Int = 10,
            allowedRegistrations: Int = 10,
            window: TimeInterval = 15 * 60,
            registrationWindow: TimeInterval = 60 * 60,
            baseBackoff: TimeInterval = 30,
            maximumBackoff: TimeInterval = 15 * 60,
            clock: @escaping @Sendable () -> Date = { Date() }
        ) {
            self.allowedFailures = allowedFailures
            self.allowedClientFailures = allowedClientFailures
            self.allowedDeviceFailures = allowedDeviceFailures
            self.allowedRegistrations = allowedRegistrations
            self.window = window
            self.registrationWindow = registrationWindow
            self.baseBackoff = baseBackoff
            self.maximumBackoff = maximumBackoff
            self.clock = clock
        }

        /// The store's limit for `subject`.
        package func limit(for subject: Subject) -> LoginLimit {
            let (allowed, window, base, maximum): (Int, TimeInterval, TimeInterval, TimeInterval) = switch subject {
            case .account: (allowedFailures, self.window, baseBackoff, maximumBackoff)
            case .client: (allowedClientFailures, self.window, baseBackoff, maximumBackoff)
            case .device: (allowedDeviceFailures, self.window, baseBackoff, maximumBackoff)
            // Past the allowance, blocked for the rest of the window at least.
            case .registrations: (allowedRegistrations, registrationWindow, registrationWindow, registrationWindow * 4)
            }
            return LoginLimit(subject: subject.storageKey, allowed: allowed, window: window, baseBackoff: base, maximumBackoff: maximum)
        }
    }

    let policy: Policy
    let store: any Store

    package init(policy: Policy, store: any Store) {
        self.policy = policy
        self.store = store
    }

    /// The subjects an attempt to log in as `account` counts against: the device alone when the browser holds a
    /// device cookie for that account, else the account and the client's network (when the address is known).
    package static func subjects(account: IdentityKey, device: String?, client: String?) -> [Subject] {
        if let device { return [.device(device)] }
        return [.account(account)] + (client.map { [.client(ClientNetwork.of($0))] } ?? [])
    }

    /// Admits one attempt for every subject or for none, in one atomic step in the store.
    /// - Returns: nil when admitted (and counted); otherwise the seconds to wait, at least 1.
    package func admit(_ subjects: [Subject]) async throws(StoreError) -> Int? {
        guard !subjects.isEmpty else { return nil }
        let now = policy.clock()
        // One order for every attempt, so that two instances never wait for each other's rows in a cycle.
        let limits = subjects.map(policy.limit(for:)).sorted { $0.subject < $1.subject }
        #if MUTANT_CHECK_THEN_RECORD
        // The simulation's mutant (Tests/scripts/simulation-mutants.sh): check whether the subjects are blocked (an
        // attempt counted and given back at once), then record the attempt in a second transaction.
        if try await store.admitLoginAttempt(limits, now: now) == nil {
            try await store.settleLoginAttempt(clearing: [], releasing: limits)
            _ = try await store.admitLoginAttempt(limits, now: now)
            return nil
        }
        #endif
        guard let until = try await store.admitLoginAttempt(limits, now: now) else { return nil }
        let longest = limits.map(\.maximumBackoff).max() ?? policy.maximumBackoff
        return Int(min(longest, max(1, until.timeIntervalSince(now).rounded(.up))))
    }

    /// Settles an admitted attempt that succeeded: the account's and the device's records are cleared, and the
    /// client network's attempt is given back (many people may log in from one network).
    package func settleSuccess(_ subjects: [Subject]) async throws(StoreError) {
        var clearing: [String] = []
        var releasing: [LoginLimit] = []
        for subject in subjects {
            switch subject {
            case .account, .device: clearing.append(subject.storageKey)
            case .client, .registrations: releasing.append(policy.limit(for: subject))
            }
        }
        try await store.settleLoginAttempt(clearing: clearing, releasing: releasing)
    }

    /// Gives admitted attempts back to every subject, when what they were admitted for did not happen (a
    /// registration that made no account).
    package func giveBack(_ subjects: [Subject]) async throws(StoreError) {
        guard !subjects.isEmpty else { return }
        try await store.settleLoginAttempt(clearing: [], releasing: subjects.map(policy.limit(for:)))
    }
}

/// The network a client address is counted by: an IPv4 address as it is, an IPv6 address by its /64 (one
/// customer's allocation, which hands an attacker 2^64 addresses), the IPv4 address inside an IPv4-mapped IPv6 one.
enum ClientNetwork {
    static func of(_ address: String) -> String {
        var bytes = [UInt8](repeating: 0, count: 16)
        let parsed = address.withCString { inet_pton(AF_INET6, $0, &bytes) } == 1
        guard parsed else { return address }
        if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
            return bytes[12..<16].map(String.init).joined(separator: ".")
        }
        let prefix = stride(from: 0, to: 8, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
        return prefix.joined(separator: ":") + "::/64"
    }
}
