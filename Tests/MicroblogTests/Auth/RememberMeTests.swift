import Foundation
import HummingbirdTesting
import Testing
@testable import Microblog

/// Remember-me tokens that rotate on use, a copied token that revokes its user's sessions, and a bound on the
/// sessions one user holds.
@Suite("Remember-me rotation and the sessions a user holds")
struct RememberMeTests {
    /// The stored sessions of the user named `name`.
    static func sessions(of name: String, env: TestEnvironment) async throws -> Int {
        try await env.withStore { store in
            let id = try #require(try await store.user(usernameKey: IdentityKey(name))?.id)
            return try await StoreBackdoor.count(
                store,
                sqlite: "SELECT COUNT(*) FROM session WHERE user_id = ?",
                arguments: [id],
                postgres: "SELECT count(*) FROM session WHERE user_id = \(id)"
            )
        }
    }

    @Test("A remember cookie that signs a browser in is rotated: a new validator for the same selector; the old one still counts for the grace", arguments: Backend.all)
    func rotation(_ backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        try await env.withApp { client in
            let browser = Browser(client)
            try await browser.register("alice")
            try await browser.login("alice", rememberMe: true)
            let first = try #require(browser.cookie("remember_token"))

            let restarted = Browser(client).with(cookie: "remember_token", first)
            #expect(try await restarted.get("/index").status == .ok)
            let second = try #require(restarted.cookie("remember_token"))
            #expect(second != first, "a new validator")
            #expect(second.prefix(while: { $0 != "." }) == first.prefix(while: { $0 != "." }), "the same selector")

            // A request of the same browser that was already on its way with the old token: within the grace.
            #expect(try await Browser(client).with(cookie: "remember_token", first).get("/index").status == .ok)
            // The new one signs in, and is rotated in turn.
            let again = Browser(client).with(cookie: "remember_token", second)
            #expect(try await again.get("/index").status == .ok)
            #expect(again.cookie("remember_token") != second)
        }
    }

    @Test("A replaced token used after the grace is a copied token: every session and token of the user is revoked, one WARNING", arguments: Backend.all)
    func theft(_ backend: Backend) async throws {
        var configured = try await TestEnvironment(backend)
        configured.configuration.rememberRotationGrace = .zero
        let env = configured
        defer { env.removeFiles() }
        try await env.withApp { client in
            let owner = Browser(client)
            try await owner.register("alice")
            try await owner.login("alice", rememberMe: true)
            let stolen = try #require(owner.cookie("remember_token"))
            let elsewhere = Browser(client)
            try await elsewhere.login("alice")
            // The owner's browser comes back without its session: the token signs it in and is rotated.
            owner.setCookie("session", nil)
            #expect(try await owner.get("/index").status == .ok)
            #expect(owner.cookie("remember_token") != stolen)
            #expect(try await Self.sessions(of: "alice", env: env) == 3, "the first login's, the other browser's, the remembered one's")

            // The thief replays the copy it took before the rotation.
            let thief = Browser(client).with(cookie: "remember_token", stolen)
            let page = try await thief.get("/index")
            #expect(page.status == .found && page.location?.hasPrefix("/login") == true)
            #expect(thief.cookie("remember_token") == nil)
            #expect(try await Self.sessions(of: "alice", env: env) == 0, "every session of the user is gone")
            #expect(try await owner.get("/index").status == .found, "the owner's browser is signed out too: its token is revoked")
            #expect(try await elsewhere.get("/index").status == .found)
            #expect(try await Browser(client).with(cookie: "remember_token", stolen).get("/index").status == .found)
        }
        let warnings = env.logs.entries.filter { $0.level == .warning && $0.message.description.contains("replaced remember-me token") }
        #expect(warnings.count == 1, "one WARNING for the theft, not one per replay")
    }

    @Test("500 requests with one remember cookie and no session make at most SESSIONS_PER_USER session rows", arguments: Backend.all)
    func replayedCookieIsBounded(_ backend: Backend) async throws {
        var configured = try await TestEnvironment(backend)
        configured.configuration.rememberRotationGrace = .seconds(3600)
        configured.configuration.sessionsPerUser = 5
        let env = configured
        defer { env.removeFiles() }
        try await env.withApp { client in
            let browser = Browser(client)
            try await browser.register("alice")
            try await browser.login("alice", rememberMe: true)
            let token = try #require(browser.cookie("remember_token"))
            for _ in 0..<500 {
                #expect(try await Browser(client).with(cookie: "remember_token", token).get("/index").status == .ok)
            }
            #expect(try await Self.sessions(of: "alice", env: env) <= 5)
        }
    }

    @Test("A user holds at most SESSIONS_PER_USER sessions: a new login signs the oldest browser out", arguments: Backend.all)
    func sessionCap(_ backend: Backend) async throws {
        var configured = try await TestEnvironment(backend)
        configured.configuration.sessionsPerUser = 3
        let env = configured
        defer { env.removeFiles() }
        try await env.withApp { client in
            try await Browser(client).register("alice")
            var browsers: [Browser] = []
            for _ in 0..<4 {
                let browser = Browser(client)
                #expect(try await browser.login("alice").status == .found)
                browsers.append(browser)
            }
            #expect(try await Self.sessions(of: "alice", env: env) == 3)
            #expect(try await browsers[0].get("/index").status == .found, "the oldest session went")
            for browser in browsers.dropFirst() {
                #expect(try await browser.get("/index").status == .ok)
            }
        }
    }
}
