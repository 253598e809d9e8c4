import Foundation
import HTTPTypes
import NIOConcurrencyHelpers
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
    @Test("Five failures block the account with a doubling backoff that expires; success clears it", arguments: Backend.all)
    func backoff(_ backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        try await env.withStore { (store) async throws -> Void in
            let clock = ManualClock()
            let throttle = LoginThrottle(policy: .init(allowedFailures: 5, baseBackoff: 30, clock: { clock.read() }), store: store)
            let alice = LoginThrottle.Subject.account(IdentityKey("alice"))
            for _ in 0..<4 { try await throttle.recordFailure([alice]) }
            #expect(try await throttle.retryAfter([alice]) == nil)
            try await throttle.recordFailure([alice])
            #expect(try await throttle.retryAfter([alice]) == 30)
            clock.advance(by: 31)
            #expect(try await throttle.retryAfter([alice]) == nil, "the owner is not locked out for good")
            try await throttle.recordFailure([alice])
            #expect(try await throttle.retryAfter([alice]) == 60, "each further failure doubles the wait")
            clock.advance(by: 61)
            try await throttle.recordSuccess(alice)
            try await throttle.recordFailure([alice])
            #expect(try await throttle.retryAfter([alice]) == nil)
            #expect(try await throttle.retryAfter([.account(IdentityKey("bob"))]) == nil, "other accounts are unaffected")
        }
    }

    @Test("A client address gets more attempts than one account", arguments: Backend.all)
    func clientLimit(_ backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        try await env.withStore { (store) async throws -> Void in
            let throttle = LoginThrottle(policy: .init(allowedFailures: 5, allowedClientFailures: 20), store: store)
            let client = LoginThrottle.Subject.client("10.0.0.1")
            for attempt in 0..<19 { try await throttle.recordFailure([.account(IdentityKey("user\(attempt)")), client]) }
            #expect(try await throttle.retryAfter([client]) == nil)
            try await throttle.recordFailure([client])
            #expect(try await throttle.retryAfter([client]) != nil)
        }
    }

    @Test("Two instances on one database count the same failures, concurrent ones included", arguments: Backend.all)
    func sharedBetweenInstances(_ backend: Backend) async throws {
        var configured = try await TestEnvironment(backend)
        // The 19 updates of one account's record wait for each other by design; with the whole suite running beside
        // them that queue can outlast the default 5 s lock timeout (a 503 in production). What is checked here is
        // that none is lost, so the wait may be long.
        configured.configuration.postgres?.lockTimeout = .seconds(60)
        let env = configured
        defer { env.removeFiles() }
        try await env.withStore { (first) async throws -> Void in
            try await env.withStore { (second) async throws -> Void in
                let policy = LoginThrottle.Policy(allowedFailures: 20, allowedClientFailures: 20)
                let throttles = [LoginThrottle(policy: policy, store: first), LoginThrottle(policy: policy, store: second)]
                let alice = LoginThrottle.Subject.account(IdentityKey("alice"))
                let client = LoginThrottle.Subject.client("192.0.2.7")
                // 19 failures at once, spread over both instances: every one is counted, none lost to a race.
                try await withThrowingDiscardingTaskGroup { group in
                    for attempt in 0..<19 {
                        group.addTask { try await throttles[attempt % 2].recordFailure([alice, client]) }
                    }
                }
                let records = try await first.loginFailures(subjects: [alice.storageKey, client.storageKey])
                #expect(records[alice.storageKey]?.failures == 19)
                #expect(records[client.storageKey]?.failures == 19)
                #expect(try await throttles[0].retryAfter([alice]) == nil)
                // The 20th failure, on one instance, blocks the account on the other.
                try await throttles[0].recordFailure([alice])
                #expect(try await throttles[1].retryAfter([alice]) != nil)
            }
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
