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
    @Test("Five failures block the account with a doubling backoff that expires; success clears it")
    func backoff() async {
        let clock = ManualClock()
        let throttle = LoginThrottle(allowedFailures: 5, baseBackoff: 30, clock: { clock.read() })
        let alice = LoginThrottle.Subject.account(IdentityKey("alice"))
        for _ in 0..<4 { await throttle.recordFailure([alice]) }
        #expect(await throttle.retryAfter([alice]) == nil)
        await throttle.recordFailure([alice])
        #expect(await throttle.retryAfter([alice]) == 30)
        clock.advance(by: 31)
        #expect(await throttle.retryAfter([alice]) == nil, "the owner is not locked out for good")
        await throttle.recordFailure([alice])
        #expect(await throttle.retryAfter([alice]) == 60, "each further failure doubles the wait")
        clock.advance(by: 61)
        await throttle.recordSuccess(alice)
        await throttle.recordFailure([alice])
        #expect(await throttle.retryAfter([alice]) == nil)
        #expect(await throttle.retryAfter([.account(IdentityKey("bob"))]) == nil, "other accounts are unaffected")
    }

    @Test("A client address gets more attempts than one account")
    func clientLimit() async {
        let throttle = LoginThrottle(allowedFailures: 5, allowedClientFailures: 20)
        let client = LoginThrottle.Subject.client("10.0.0.1")
        for attempt in 0..<19 { await throttle.recordFailure([.account(IdentityKey("user\(attempt)")), client]) }
        #expect(await throttle.retryAfter([client]) == nil)
        await throttle.recordFailure([client])
        #expect(await throttle.retryAfter([client]) != nil)
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
