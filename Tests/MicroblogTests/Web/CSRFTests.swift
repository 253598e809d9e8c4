import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
@testable import Microblog

@Suite("CSRF protection on every form POST")
struct CSRFTests {
    @Test("A POST without a token, with a wrong token, or with another session's token is refused and changes nothing", arguments: Backend.all)
    func refusedTokens(backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        try await env.withApp { client in
            let alice = Browser(client)
            try await alice.signUp("alice")
            let mallory = Browser(client)
            try await mallory.signUp("mallory")
            let malloryToken = try await mallory.csrfToken(from: "/index")

            let missing = try await alice.post("/index", [("post", "no token")], csrf: false)
            #expect(missing.status == .badRequest)
            #expect(missing.contains("The form has expired, please try again"))
            #expect(!missing.contains("no token"), "the page does not echo what was submitted")

            let wrong = try await alice.post("/index", [("csrf_token", "wrong"), ("post", "wrong token")], csrf: false)
            #expect(wrong.status == .badRequest)

            let foreign = try await alice.post("/index", [("csrf_token", malloryToken), ("post", "foreign token")], csrf: false)
            #expect(foreign.status == .badRequest)

            let anonymous = Browser(client)
            let register = try await anonymous.post(
                "/register",
                [("username", "eve"), ("email", "eve@example.com"), ("password", "12345678"), ("password2", "12345678")],
                csrf: false
            )
            #expect(register.status == .badRequest)

            let home = try await alice.get("/index")
            #expect(!home.contains("no token") && !home.contains("wrong token") && !home.contains("foreign token"))
        }
        try await env.withStore { database async throws in
            #expect(try await database.countUsers(usernameKey: IdentityKey("eve")) == 0)
        }
    }

    @Test("The token rotates at login and at logout", arguments: Backend.all)
    func rotation(backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        try await env.withApp { client in
            let browser = Browser(client)
            try await browser.register("alice")
            try await browser.login("alice")
            let loggedInToken = try await browser.csrfToken(from: "/index")
            #expect(try await browser.csrfToken(from: "/index") == loggedInToken, "one token for the session")
            _ = try await browser.logout()
            // The old token is worthless now, on a signed-out form and on a signed-in one.
            let replay = try await browser.post("/login", [("csrf_token", loggedInToken), ("username", "alice"), ("password", "pw-alice-pw")], csrf: false)
            #expect(replay.status == .badRequest)
            try await browser.login("alice")
            let nextSessionToken = try await browser.csrfToken(from: "/index")
            #expect(nextSessionToken != loggedInToken, "a new session, a new token")
            let stale = try await browser.post("/index", [("csrf_token", loggedInToken), ("post", "with the old token")], csrf: false)
            #expect(stale.status == .badRequest)
            #expect(try await browser.post("/index", [("csrf_token", nextSessionToken), ("post", "with the new token")], csrf: false).status == .found)
        }
    }
}

@Suite("Form bodies are decoded by the project")
struct FormDecodingTests {
    @Test("Malformed bodies are a 400 page", arguments: Backend.all, [
        "username=a&username=b",
        "username=%zz",
        "username=%",
        "username=%4",
        "=x",
    ])
    func malformed(backend: Backend, body: String) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        try await env.withApp { client in
            let browser = Browser(client)
            let token = try await browser.csrfToken(from: "/register")
            let page = try await browser.postRaw("/register", body: "csrf_token=\(token)&" + body)
            #expect(page.status == .badRequest)
            #expect(page.headers[.contentType] == "text/html; charset=utf-8")
            #expect(page.contains("Bad Request"))
        }
    }

    @Test("Invalid UTF-8, NUL and control characters are form errors, never stored", arguments: Backend.all)
    func invalidText(backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        try await env.withApp { client in
            let browser = Browser(client)
            for raw in ["ab%FFcd", "ab%00cd", "ab%07cd", "ab%C3%28"] {
                let token = try await browser.csrfToken(from: "/register")
                let page = try await browser.postRaw(
                    "/register",
                    body: "csrf_token=\(token)&username=\(raw)&email=x%40example.com&password=12345678&password2=12345678"
                )
                #expect(page.status == .ok, "\(raw)")
                #expect(page.contains("not allowed"), "\(raw)")
            }
        }
    }

    @Test("A body over 64 KiB is a 413 page", arguments: Backend.all)
    func tooLarge(backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        try await env.withApp { client in
            let browser = Browser(client)
            let token = try await browser.csrfToken(from: "/register")
            let page = try await browser.postRaw("/register", body: "csrf_token=\(token)&username=" + String(repeating: "a", count: 70_000))
            #expect(page.status == .contentTooLarge)
        }
    }

    @Test("Parsing keeps raw bytes and rejects bad syntax")
    func parser() throws {
        let form = try FormData(body: Array("a=1+2&b=%C3%A9&c=&d".utf8))
        #expect(form.text("a") == .text("1 2"))
        #expect(form.text("b") == .text("é"))
        #expect(form.text("c") == .text(""))
        #expect(form.text("d") == .text(""))
        #expect(form.text("e") == .missing)
        #expect(try FormData(body: Array("x=%FF".utf8)).text("x") == .invalid)
        #expect(throws: FormData.Malformed.self) { _ = try FormData(body: Array("x=1&x=2".utf8)) }
        #expect(throws: FormData.Malformed.self) { _ = try FormData(body: Array("x=%G0".utf8)) }
    }

    @Test("A checkbox is checked by y or on")
    func checkbox() throws {
        #expect(try FormData(body: Array("r=y".utf8)).checkbox("r"))
        #expect(try FormData(body: Array("r=on".utf8)).checkbox("r"))
        #expect(try !FormData(body: Array("r=".utf8)).checkbox("r"))
        #expect(try !FormData(body: Array("x=1".utf8)).checkbox("r"))
    }
}

@Suite("Redirect targets after login")
struct SafeRedirectTests {
    @Test func sameOriginPaths() {
        #expect(SafeRedirect.target("/user/alice") == "/user/alice")
        #expect(SafeRedirect.target(nil) == "/index")
        for hostile in ["//evil.com", "///evil.com", "/\\evil.com", "https:evil.com", "/%2Fevil.com", "/%5Cevil.com", "/a\u{0}b", "\t/x", ""] {
            #expect(SafeRedirect.target(hostile) == "/index", "\(hostile.debugDescription)")
        }
    }
}
