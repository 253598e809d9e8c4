import Crypto
import Foundation
import MicroblogClient
import Testing
@testable import Microblog

/// `SECRET_KEY_FALLBACKS`: a rolling deploy with a new key logs nobody out, and dropping the old key retires what it signed.
@Suite("Secret key rotation")
struct KeyRotationTests {
    @Test("What key A signed (a remember-me token, a signed-out form token) works under SECRET_KEY=B with A as a fallback, and not once A is dropped; sessions are the server's and stay", arguments: Backend.all)
    func rotation(_ backend: Backend) async throws {
        var env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        let keyA = env.configuration.secretKey
        let keyB = "rotated-secret-key-" + UUID().uuidString + UUID().uuidString
        Artifacts.secret(keyB, kind: "SECRET_KEY")

        let underA = env
        let (session, remembered, unused, nonce, token) = try await underA.withApp { client in
            let browser = Browser(client)
            try await browser.register("alice")
            try await browser.login("alice", rememberMe: true)
            let second = Browser(client)
            try await second.login("alice", rememberMe: true)
            let visitor = Browser(client)
            let token = try await visitor.csrfToken(from: "/login")
            return (
                try #require(browser.cookie("session")), try #require(browser.cookie("remember_token")),
                try #require(second.cookie("remember_token")), try #require(visitor.cookie("csrf_nonce")), token
            )
        }

        env.configuration.secretKey = keyB
        env.configuration.secretKeyFallbacks = [keyA]
        let underBWithA = env
        try await underBWithA.withApp { client in
            #expect(try await Browser(client).with(cookie: "session", session).get("/index").status == .ok)
            let browser = Browser(client).with(cookie: "remember_token", remembered)
            #expect(try await browser.get("/index").status == .ok, "a remember-me token hashed under A")
            #expect(browser.cookie("remember_token") != remembered, "and re-hashed under B as it rotates")
            let visitor = Browser(client).with(cookie: "csrf_nonce", nonce)
            let login = try await visitor.post("/login", FormFields.login(csrfToken: token, username: "alice", password: "pw-alice-pw"), csrf: false)
            #expect(login.status == .found, "a signed-out form token made under A")
        }

        env.configuration.secretKeyFallbacks = []
        let underB = env
        try await underB.withApp { client in
            #expect(try await Browser(client).with(cookie: "session", session).get("/index").status == .ok, "sessions are kept by the server")
            #expect(try await Browser(client).with(cookie: "remember_token", unused).get("/index").status == .found, "A's token is retired")
            let visitor = Browser(client).with(cookie: "csrf_nonce", nonce)
            let login = try await visitor.post("/login", FormFields.login(csrfToken: token, username: "alice", password: "pw-alice-pw"), csrf: false)
            #expect(login.status == .badRequest, "A's form token is retired")
        }
    }

    @Test("A remember-me token stored before keys were derived (hashed with the raw secret) still signs in, and is re-hashed", arguments: Backend.all)
    func tokenHashedWithTheRawSecret(_ backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        try await env.withApp { client in
            try await Browser(client).register("alice")
            let validator = RandomToken.make()
            let rawHash = Data(HMAC<SHA256>.authenticationCode(for: Data(validator.utf8), using: SymmetricKey(data: Data(env.configuration.secretKey.utf8))))
            try await env.withStore { store in
                let id = try #require(try await store.user(usernameKey: IdentityKey("alice"))?.id)
                try await store.insertRememberToken(selector: "legacy", validatorHash: rawHash, userID: id, expiresAt: Date() + 3600)
            }
            let browser = Browser(client).with(cookie: "remember_token", "legacy.\(validator)")
            #expect(try await browser.get("/index").status == .ok)
            #expect(browser.cookie("remember_token") != "legacy.\(validator)")
        }
    }

    @Test("Flash and device cookies made under key A verify under B with A as a fallback, and not under B alone; new ones are made with B")
    func signedCookies() throws {
        let (keyA, keyB) = ("key-A-" + String(repeating: "a", count: 40), "key-B-" + String(repeating: "b", count: 40))
        let alice = IdentityKey("alice")

        let device = try #require(DeviceCookie(secretKey: keyA, secureCookies: false).cookie(for: alice).value.split(separator: ";").first)
        #expect(DeviceCookie(secretKey: keyB, fallbacks: [keyA], secureCookies: false).nonce(in: device, for: alice) != nil)
        #expect(DeviceCookie(secretKey: keyB, secureCookies: false).nonce(in: device, for: alice) == nil)
        let madeUnderB = DeviceCookie(secretKey: keyB, fallbacks: [keyA], secureCookies: false).cookie(for: alice).value
        #expect(DeviceCookie(secretKey: keyB, secureCookies: false).nonce(in: Substring(madeUnderB), for: alice) != nil)
        #expect(DeviceCookie(secretKey: keyA, secureCookies: false).nonce(in: Substring(madeUnderB), for: alice) == nil)

        let flash = FlashCookie(secretKey: keyA, secureCookies: false).cookie(for: ["Saved."]).value
        #expect(FlashCookie(secretKey: keyB, fallbacks: [keyA], secureCookies: false).messages(inCookieValue: Substring(flash)) == ["Saved."])
        #expect(FlashCookie(secretKey: keyB, secureCookies: false).messages(inCookieValue: Substring(flash)).isEmpty)
    }
}
