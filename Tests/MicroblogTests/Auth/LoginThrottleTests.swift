import Foundation
import HTTPTypes
import Logging
import NIOConcurrencyHelpers
import PostgresNIO
import Prometheus
import Testing
@testable import Microblog

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    private let now = NIOLockedValueBox(Date(timeIntervalSince1970: 1_000_000))
    func read() -> Date { now.withLockedValue { $0 } }
    func advance(by seconds: TimeInterval) { now.withLockedValue { $0 = $0.addingTimeInterval(seconds) } }
}

@Suite("Login throttling")
struct LoginThrottleTests {
    @Test("Five attempts are admitted, then the account is blocked with a doubling backoff that expires; success clears it", arguments: Backend.all)
    func backoff(_ backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        try await env.withStore { (store) async throws -> Void in
            let clock = ManualClock()
            let throttle = LoginThrottle(policy: .init(allowedFailures: 5, baseBackoff: 30, clock: { clock.read() }), store: store)
            let alice = LoginThrottle.Subject.account(IdentityKey("alice"))
            for attempt in 1...5 { #expect(try await throttle.admit([alice]) == nil, "attempt \(attempt) is within the allowance") }
            #expect(try await throttle.admit([alice]) == 30)
            #expect(try await throttle.admit([alice]) == 30, "a refused attempt is not counted and does not lengthen the block")
            clock.advance(by: 31)
            #expect(try await throttle.admit([alice]) == nil, "the owner is not locked out for good")
            #expect(try await throttle.admit([alice]) == 60, "each further admitted attempt doubles the wait")
            clock.advance(by: 61)
            #expect(try await throttle.admit([alice]) == nil)
            try await throttle.settleSuccess([alice])
            for _ in 1...4 { #expect(try await throttle.admit([alice]) == nil, "cleared by the success") }
            #expect(try await throttle.admit([.account(IdentityKey("bob"))]) == nil, "other accounts are unaffected")
            clock.advance(by: 15 * 60 + 1)
            for _ in 1...4 { #expect(try await throttle.admit([alice]) == nil, "a new window starts the count again") }
        }
    }

    @Test("A client network gets more attempts than one account; a refused attempt counts against none of its subjects", arguments: Backend.all)
    func clientLimit(_ backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        try await env.withStore { (store) async throws -> Void in
            let throttle = LoginThrottle(policy: .init(allowedFailures: 5, allowedClientFailures: 20), store: store)
            let client = LoginThrottle.Subject.client("10.0.0.1")
            for attempt in 0..<20 {
                #expect(try await throttle.admit([.account(IdentityKey("user\(attempt)")), client]) == nil)
            }
            #expect(try await throttle.admit([.account(IdentityKey("other")), client]) != nil)
            for _ in 1...5 {
                #expect(try await throttle.admit([.account(IdentityKey("other"))]) == nil, "the refused attempt left 'other' uncounted")
            }
            // A success gives the client its attempt back.
            try await throttle.settleSuccess([.account(IdentityKey("user0")), client])
            #expect(try await throttle.admit([.account(IdentityKey("user0")), client]) == nil)
        }
    }

    @Test("IPv6 clients are counted by their /64, IPv4 and IPv4-mapped ones by their address")
    func clientNetworks() {
        #expect(ClientNetwork.of("2001:db8:1:2:aaaa::1") == ClientNetwork.of("2001:db8:1:2:ffff:ffff:ffff:ffff"))
        #expect(ClientNetwork.of("2001:db8:1:2::1") != ClientNetwork.of("2001:db8:1:3::1"))
        #expect(ClientNetwork.of("2001:db8:1:2::1") == "2001:db8:1:2::/64")
        #expect(ClientNetwork.of("::ffff:192.0.2.7") == "192.0.2.7")
        #expect(ClientNetwork.of("192.0.2.7") == "192.0.2.7")
        #expect(ClientNetwork.of("not an address") == "not an address")
    }

    // MARK: The race, reproduced

    /// The throttle as it was: ask whether the subject is blocked (a read), check the password, then record the
    /// failure. Every attempt that arrives while others are in the password check passes the read.
    struct CheckThenRecord {
        let store: any Store
        let allowed: Int
        let subject = LoginThrottle.Subject.account(IdentityKey("alice")).storageKey

        func attempt(verifying: @Sendable () async -> Void) async throws -> Bool {
            let failures = try await StoreBackdoor.count(
                store,
                sqlite: "SELECT coalesce(max(failures), 0) FROM login_failure WHERE subject = ?",
                arguments: [subject],
                postgres: "SELECT coalesce(max(failures), 0)::bigint FROM login_failure WHERE subject = \(subject)"
            )
            guard failures < allowed else { return false }
            await verifying()
            try await StoreBackdoor.execute(
                store,
                sqlite: """
                    INSERT INTO login_failure (subject, failures, first_failure, forget_at) VALUES (?, 1, 0, 1e12)
                    ON CONFLICT (subject) DO UPDATE SET failures = failures + 1
                    """,
                arguments: [subject],
                postgres: """
                    INSERT INTO login_failure (subject, failures, first_failure, forget_at) VALUES (\(subject), 1, now(), 'infinity')
                    ON CONFLICT (subject) DO UPDATE SET failures = login_failure.failures + 1
                    """
            )
            return true
        }
    }

    /// Runs `count` attempts at once, each held in its password check until every attempt has been decided; returns
    /// how many reached the check.
    static func burst(_ count: Int, attempt: @escaping @Sendable (_ verifying: @escaping @Sendable () async -> Void) async throws -> Bool) async throws -> Int {
        let verifying = Gate()
        let decided = Gate()
        await decided.open()
        return try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<count {
                group.addTask {
                    let admitted = try await attempt { await decided.pass(); await verifying.pass() }
                    if !admitted { await decided.pass() }
                    return admitted
                }
            }
            // Every attempt is decided (refused, or admitted and held in its check) before any check ends.
            try await decided.waitForArrivals(count)
            await verifying.open()
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
    }

    @Test("a. Check-then-record: 20 attempts sent together all reach the password check (the old throttle's race)", arguments: Backend.all)
    func checkThenRecordRaceHappens(_ backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        try await env.withStore { (store) async throws -> Void in
            let naive = CheckThenRecord(store: store, allowed: 5)
            let checked = try await Self.burst(20) { verifying in try await naive.attempt(verifying: verifying) }
            #expect(checked == 20, "every attempt passed the read while the others were in the check")
        }
    }

    @Test("b. The same schedule through LoginThrottle: exactly the allowance reaches the password check", arguments: Backend.all)
    func admissionRace(_ backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        try await env.withStore { (store) async throws -> Void in
            let throttle = LoginThrottle(policy: .init(allowedFailures: 5), store: store)
            let alice = LoginThrottle.Subject.account(IdentityKey("alice"))
            let checked = try await Self.burst(40) { verifying in
                guard try await throttle.admit([alice]) == nil else { return false }
                await verifying()
                return true
            }
            #expect(checked == 5)
        }
    }

    @Test("b. Two instances on one database share the count: 40 attempts spread over both, exactly the allowance admitted", arguments: Backend.all)
    func sharedBetweenInstances(_ backend: Backend) async throws {
        var configured = try await TestEnvironment(backend)
        // The attempts on one subject wait for each other's row by design; with the whole suite beside them that
        // queue can outlast the default 5 s lock timeout (a 503 in production). What is checked here is the count.
        configured.configuration.postgres?.lockTimeout = .seconds(60)
        let env = configured
        defer { env.removeFiles() }
        try await env.withStore { (first) async throws -> Void in
            try await env.withStore { (second) async throws -> Void in
                let policy = LoginThrottle.Policy(allowedFailures: 5, allowedClientFailures: 12)
                let throttles = [LoginThrottle(policy: policy, store: first), LoginThrottle(policy: policy, store: second)]
                let counter = AttemptCounter()
                let admitted = try await Self.burst(40) { verifying in
                    let number = await counter.next()
                    let throttle = throttles[number % 2]
                    let account = LoginThrottle.Subject.account(IdentityKey("user\(number % 3)"))
                    guard try await throttle.admit([account, .client("192.0.2.7")]) == nil else { return false }
                    await verifying()
                    return true
                }
                #expect(admitted == 12, "the client's allowance, counted across both instances")
                #expect(try await throttles[1].admit([.client("192.0.2.7")]) != nil)
            }
        }
    }

    @Test("PostgreSQL: a settle takes its rows in admission's order, so an admission holding the first row and a successful login never wait for each other in a cycle (the schedule the simulation found)")
    func settleLockOrder() async throws {
        let env = try await TestEnvironment(.postgres)
        defer { env.removeFiles() }
        let settings = try #require(env.configuration.postgres)
        try await env.withStore { (store) async throws -> Void in
            let policy = LoginThrottle.Policy()
            let throttle = LoginThrottle(policy: policy, store: store)
            let subjects: [LoginThrottle.Subject] = [.account(IdentityKey("ada")), .client("198.51.100.7")]
            #expect(try await throttle.admit(subjects) == nil)
            let rows = subjects.map { policy.limit(for: $0).subject }.sorted()
            let logger = Logger(label: "test-admission")
            // Another instance's admission between its two statements: it holds the first row in order, and its next
            // statement takes the second.
            let admission = try await PostgresStore.connectDirectly(settings, logger: logger)
            try await admission.query("BEGIN", logger: logger)
            try await admission.query("SELECT 1 FROM login_failure WHERE subject = \(rows[0]) FOR UPDATE", logger: logger)
            let settle = Task { try await throttle.settleSuccess(subjects) }
            // Until the settle waits for a row: whatever it holds by then decides whether the next statement deadlocks.
            var waiting = 0
            for _ in 0..<10_000 where waiting == 0 {
                let rows = try await admission.query(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()",
                    logger: logger
                ).collect()
                waiting = try rows.first?.decode(Int.self) ?? 0
            }
            #expect(waiting == 1, "the settle waits for the admission's row")
            // Had the settle taken the second row first, PostgreSQL would end one of the two as a deadlock here.
            try await admission.query("SELECT 1 FROM login_failure WHERE subject = \(rows[1]) FOR UPDATE", logger: logger)
            try await admission.query("COMMIT", logger: logger)
            try await admission.close()
            try await settle.value
            #expect(try await throttle.admit(subjects) == nil, "the account's record is cleared and the client's attempt given back")
        }
    }

    @Test("Subjects are stored as bounded digests, never as the name or address a client sent")
    func subjectsStoredAsDigests() {
        let long = LoginThrottle.Subject.account(IdentityKey(String(repeating: "a", count: 10_000)))
        let alice = LoginThrottle.Subject.account(IdentityKey("alice"))
        let client = LoginThrottle.Subject.client("203.0.113.9")
        #expect(long.storageKey.utf8.count <= 64)
        #expect(!alice.storageKey.contains("alice"))
        #expect(!client.storageKey.contains("203.0.113.9"))
        #expect(Set([long, alice, client].map(\.storageKey)).count == 3)
        #expect(LoginThrottle.Subject.client("alice").storageKey != alice.storageKey, "an address never names an account")
    }

    @Test("Over HTTP: the sixth wrong password gets a 429 page with Retry-After, even with the right password", arguments: Backend.all)
    func http429(_ backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        try await env.withApp { client in
            let browser = Browser(client)
            try await browser.register("alice")
            for _ in 0..<5 {
                let page = try await browser.login("alice", password: "wrong-password")
                #expect(page.status == .ok)
            }
            let blocked = try await browser.login("alice")
            #expect(blocked.status == .tooManyRequests)
            #expect(blocked.headers[.retryAfter] != nil)
            #expect(blocked.contains("Too many attempts"))
            let other = Browser(client)
            try await other.register("bob")
            #expect(try await other.login("bob").status == .found, "other accounts can still log in")
        }
    }
}

@Suite("Login throttling over HTTP")
struct LoginThrottleHTTPTests {
    /// A test environment whose throttle clock stands still, so no block expires however long the attempts take.
    static func frozenClock(_ backend: Backend) async throws -> TestEnvironment {
        var env = try await TestEnvironment(backend)
        let clock = ManualClock()
        env.configuration.loginThrottle.clock = { clock.read() }
        return env
    }

    @Test("After 1,000 failed attempts from elsewhere, the owner's browser (with its device cookie) logs in at once; a forged or another user's device cookie gives no exemption", arguments: Backend.all)
    func deviceCookie(_ backend: Backend) async throws {
        let env = try await Self.frozenClock(backend)
        defer { env.removeFiles() }
        try await env.withApp { client in
            let owner = Browser(client)
            try await owner.signUp("alice")
            let device = try #require(owner.cookie("device"), "a successful login leaves a device cookie")
            _ = try await owner.logout()
            let mallory = Browser(client)
            try await mallory.signUp("mallory")
            let otherDevice = try #require(mallory.cookie("device"))

            // An attacker elsewhere: five attempts reach the password check, the rest are refused before it.
            let attacker = Browser(client)
            var statuses: [Int: Int] = [:]
            for _ in 0..<1000 {
                statuses[try await attacker.login("alice", password: "guess").status.code, default: 0] += 1
            }
            #expect(statuses == [200: 5, 429: 995], "\(statuses)")
            #expect(try await Browser(client).login("alice").status == .tooManyRequests, "the account is locked for browsers without the cookie")

            // The owner's browser is counted per device: not locked out.
            #expect(try await owner.login("alice").status == .found, "the owner logs in")
            let forged = String(device.dropLast()) + (device.hasSuffix("A") ? "B" : "A")
            for (name, cookie) in [("forged", forged), ("another user's", otherDevice), ("garbage", "1.2.3")] {
                let page = try await Browser(client).with(cookie: "device", cookie).login("alice")
                #expect(page.status == .tooManyRequests, "\(name) device cookie: \(page.status)")
            }
        }
    }

    @Test("A device's own failures are limited per device: its 11th wrong password is refused, the account stays open to the right one elsewhere", arguments: Backend.all)
    func deviceLimit(_ backend: Backend) async throws {
        let env = try await Self.frozenClock(backend)
        defer { env.removeFiles() }
        try await env.withApp { client in
            let owner = Browser(client)
            try await owner.signUp("alice")
            _ = try await owner.logout()
            for _ in 0..<10 { #expect(try await owner.login("alice", password: "typo").status == .ok) }
            #expect(try await owner.login("alice").status == .tooManyRequests)
            #expect(try await Browser(client).login("alice").status == .found, "the device's failures did not lock the account")
        }
    }

    @Test("Password work past its budget is shed at once: registrations get a 503 with Retry-After and are counted, logins keep their own budget", arguments: Backend.all)
    func shedding(_ backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        let work = PasswordWork(budget: .init(logins: 4, registrations: 2))
        let registry = PrometheusCollectorRegistry()
        let app = try await buildApplication(
            configuration: env.configuration,
            dependencies: AppDependencies(logger: env.logger, prometheus: registry, passwordWork: work)
        )
        try await app.test(.router) { client in
            let alice = Browser(client)
            try await alice.register("alice")
            // A registration flood holds every registration place.
            #expect(work.reserve(.registration) && work.reserve(.registration))
            let shed = try await Browser(client).register("bob")
            #expect(shed.status == .serviceUnavailable)
            #expect(shed.headers[.retryAfter] != nil)
            #expect(try await alice.login("alice").status == .found, "logins have their own budget")
            _ = try await alice.logout()
            // A flood of logins holds every login place: shed attempts never reached the password check, so they do
            // not count against the account (5 allowed).
            for _ in 0..<4 { #expect(work.reserve(.login)) }
            for _ in 0..<6 { #expect(try await Browser(client).login("alice", password: "guess").status == .serviceUnavailable) }
            for _ in 0..<4 { work.release(.login) }
            #expect(try await Browser(client).login("alice").status == .found, "the shed attempts were given back")
            work.release(.registration)
            #expect(try await Browser(client).register("bob").status == .found, "a freed place is used again")
            #expect(work.inFlight(.registration) == 1 && work.inFlight(.login) == 0, "every place taken by a request was given back")
        }
        #expect(Scrape(registry)[#"microblog_password_work_shed_total{kind="registration"}"#] == 1)
    }

    @Test("The budget is decided in one step: 64 reservations at once, exactly the budget granted")
    func budgetIsAtomic() async {
        let work = PasswordWork(budget: .init(logins: 8, registrations: 2))
        let granted = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<64 { group.addTask { work.reserve(.login) } }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(granted == 8)
        #expect(work.inFlight(.login) == 8 && !work.reserve(.login))
        work.release(.login)
        #expect(work.reserve(.login))
    }

    @Test("A registration budget per client network: past it, a 429 page; a registration that made no account is given back", arguments: Backend.all)
    func registrationBudget(_ backend: Backend) async throws {
        var env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        env.configuration.loginThrottle.allowedRegistrations = 3
        try await env.withApp(.live) { client in
            #expect(try await Browser(client).register("one").status == .found)
            #expect(try await Browser(client).register("one", email: "again@example.com").status == .ok, "taken: no account made")
            #expect(try await Browser(client).register("two").status == .found)
            #expect(try await Browser(client).register("three").status == .found)
            let refused = try await Browser(client).register("four")
            #expect(refused.status == .tooManyRequests)
            #expect(refused.headers[.retryAfter] != nil)
        }
    }
}

/// A shared counter for spreading attempts over instances.
actor AttemptCounter {
    private(set) var value = 0

    func next() -> Int {
        defer { value += 1 }
        return value
    }
}
