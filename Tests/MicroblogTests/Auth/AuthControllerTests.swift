import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
@testable import Microblog

@Suite("Registration, login and logout")
struct AuthControllerTests {
    @Test("A new user registers, is sent to the login page, and the user exists", arguments: Backend.all)
    func registerHappyPath(backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        try await env.withApp { client in
            let browser = Browser(client)
            let page = try await browser.register("alice")
            #expect(page.status == .found)
            #expect(page.location == "/login")
            let login = try await browser.get("/login")
            #expect(login.contains("Congratulations, you are now a registered user!"))
        }
        try await env.withStore { database async throws in
            let alice = try await database.user(usernameKey: IdentityKey("alice"))
            #expect(alice?.email == "alice@example.com")
            #expect(alice?.passwordHash.hasPrefix("$2") == true)
        }
    }

    @Test("Every error of a registration at once: a taken name and address beside a short password", arguments: Backend.all)
    func allErrorsAtOnce(backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        try await env.withApp { client in
            #expect(try await Browser(client).register("susan").status == .found)
            let visitor = Browser(client)
            let page = try await visitor.register("SUSAN", email: "Susan@Example.com", password: "short")
            #expect(page.status == .ok)
            for message in ["Please use a different username.", "Please use a different email address.", "Field must be between 8 and 1024 characters long."] {
                #expect(page.contains(message), "\(message)")
            }
        }
        #expect(try await env.withStore { try await StoreBackdoor.userCount($0) } == 1)
    }

    @Test("Registration form errors re-render the form at 200 with the tutorial's messages", arguments: Backend.all)
    func registrationValidation(backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        try await env.withApp { client in
            let browser = Browser(client)
            try await browser.register("alice")

            let taken = try await browser.register("ALICE", email: "other@example.com")
            #expect(taken.status == .ok)
            #expect(taken.contains("Please use a different username."))

            let emailTaken = try await browser.register("bob", email: "Alice@Example.com")
            #expect(emailTaken.status == .ok)
            #expect(emailTaken.contains("Please use a different email address."))

            let mismatch = try await browser.post("/register", [
                ("username", "carol"), ("email", "carol@example.com"),
                ("password", "password-one"), ("password2", "password-two"),
            ])
            #expect(mismatch.status == .ok)
            #expect(mismatch.contains("Field must be equal to password."))
            #expect(!mismatch.contains("password-one"), "passwords are never echoed")

            let missing = try await browser.post("/register", [("username", "dave")])
            #expect(missing.status == .ok)
            #expect(missing.contains("This field is required."))
            #expect(missing.inputValue(named: "username") == "dave")

            let blank = try await browser.post("/register", [
                ("username", "   "), ("email", "x@example.com"), ("password", "12345678"), ("password2", "12345678"),
            ])
            #expect(blank.contains("This field is required."))

            let badName = try await browser.register("bad name!")
            #expect(badName.contains("Usernames may contain only letters"))

            let badEmail = try await browser.register("erin", email: "not-an-address")
            #expect(badEmail.contains("Invalid email address."))

            let shortPassword = try await browser.register("frank", password: "short")
            #expect(shortPassword.contains("Field must be between 8 and 1024 characters long."))

            let crlfEmail = try await browser.register("gina", email: "gina@example.com\r\nBcc: x@evil.com")
            #expect(crlfEmail.status == .ok)
            #expect(crlfEmail.contains("not allowed"))
        }
        try await env.withStore { database async throws in
            for name in ["carol", "dave", "bad name!", "erin", "frank", "gina"] {
                #expect(try await database.countUsers(usernameKey: IdentityKey(name)) == 0)
            }
        }
    }

    @Test("Login works for the right password and says the same for an unknown user and a wrong password", arguments: Backend.all)
    func login(backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        try await env.withApp { client in
            let browser = Browser(client)
            try await browser.register("alice")
            let wrong = try await browser.login("alice", password: "wrong-password")
            #expect(wrong.status == .ok)
            #expect(wrong.contains("Invalid username or password"))
            let unknown = try await browser.login("nobody", password: "wrong-password")
            #expect(unknown.status == .ok)
            #expect(unknown.contains("Invalid username or password"))

            // Session fixation: an id planted in the browser before login (a signed-out visitor has none of its own) is
            // never the id of the signed-in session.
            let planted = RandomToken.make()
            browser.setCookie("session", planted)
            let ok = try await browser.login("Alice", password: "pw-alice-pw")
            #expect(ok.status == .found)
            #expect(ok.location == "/index")
            #expect(browser.cookie("session") != nil)
            #expect(browser.cookie("session") != planted, "a new session id at login")
            let fixated = Browser(client).with(cookie: "session", planted)
            #expect(try await fixated.get("/index").status == .found, "the planted id signs nobody in")
            let home = try await browser.get("/index")
            #expect(home.status == .ok)
            #expect(home.contains("Hi, alice!"))
            #expect(home.headers[.contentType] == "text/html; charset=utf-8")
        }
    }

    @Test("The session cookie (set at login) and the signed-out form's cookie are HttpOnly and SameSite=Lax", arguments: Backend.all)
    func cookieAttributes(backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        try await env.withApp { client in
            let browser = Browser(client)
            #expect(try await browser.register("alice").status == .found)
            let form = try await client.executeRequest(uri: "/login", method: .get, headers: [:], body: nil)
            #expect(!form.headers[values: .setCookie].contains { $0.hasPrefix("session=") }, "no session before login")
            let nonce = try #require(form.headers[values: .setCookie].first { $0.hasPrefix("\(SignedOutCSRF.cookieName)=") })
            let login = try await browser.login("alice")
            let session = try #require(login.headers[values: .setCookie].first { $0.hasPrefix("session=") })
            for cookie in [nonce, session] {
                #expect(cookie.contains("HttpOnly"))
                #expect(cookie.contains("SameSite=Lax"))
                #expect(!cookie.contains("Secure"))
            }
        }
    }

    @Test("Logout is a POST with CSRF; a GET logs nobody out; a copied cookie stops working after logout", arguments: Backend.all)
    func logout(backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        try await env.withApp { client in
            let browser = Browser(client)
            try await browser.signUp("alice")
            let stolen = try #require(browser.cookie("session"))

            let get = try await browser.get("/logout")
            #expect(get.status == .methodNotAllowed)
            #expect(try await browser.get("/index").status == .ok)

            let noToken = try await browser.post("/logout", [], csrf: false)
            #expect(noToken.status == .badRequest)
            #expect(try await browser.get("/index").status == .ok)

            let out = try await browser.logout()
            #expect(out.status == .found)
            #expect(try await browser.get("/index").status == .found)

            let replay = Browser(client)
            replay.setCookie("session", stolen)
            let replayed = try await replay.get("/index")
            #expect(replayed.status == .found)
            #expect(replayed.location == "/login?next=/index")
        }
    }

    @Test("Remember me keeps the user logged in after the session is gone; a wrong validator or an expired token logs nobody in; logout revokes the token", arguments: Backend.all)
    func rememberMe(backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        try await env.withApp { client in
            let browser = Browser(client)
            try await browser.register("alice")
            try await browser.login("alice", rememberMe: true)
            let token = try #require(browser.cookie("remember_token"))
            let selector = String(token.prefix(while: { $0 != "." }))

            // A browser restart: the session cookie is gone, the remember cookie stays.
            let restarted = Browser(client)
            restarted.setCookie("remember_token", token)
            let home = try await restarted.get("/index")
            #expect(home.status == .ok)
            #expect(home.contains("Hi, alice!"))

            // The selector is live: only the validator stands between a visitor who knows it and the account.
            let validator = String(token.dropFirst(selector.count + 1))
            let oneCharacterOff = String(validator.dropLast()) + (validator.hasSuffix("B") ? "C" : "B")
            for validator in ["forged", String(repeating: "A", count: validator.count), oneCharacterOff] {
                let forged = Browser(client)
                forged.setCookie("remember_token", selector + "." + validator)
                let page = try await forged.get("/index")
                #expect(page.status == .found, "a wrong validator for a live selector logs nobody in")
                #expect(page.location?.hasPrefix("/login") == true)
                #expect(forged.cookie("remember_token") == nil, "the refused cookie is deleted in the browser")
            }
            // Counted in the client-error summary (ClientErrorLogTests), never logged with the value.
            #expect(!env.logs.entries.contains { "\($0.message) \($0.metadata)".contains(validator) })

            // Past its expiry the same, genuine token logs nobody in.
            try await env.withStore { store in
                try await StoreBackdoor.execute(
                    store,
                    sqlite: "UPDATE remember_token SET expires_at = ? WHERE selector = ?",
                    arguments: [Date().timeIntervalSince1970 - 1, selector],
                    postgres: "UPDATE remember_token SET expires_at = now() - interval '1 second' WHERE selector = \(selector)"
                )
            }
            let expired = Browser(client)
            expired.setCookie("remember_token", token)
            #expect(try await expired.get("/index").status == .found, "an expired token logs nobody in")
            #expect(expired.cookie("remember_token") == nil)
            try await env.withStore { store in
                try await StoreBackdoor.execute(
                    store,
                    sqlite: "UPDATE remember_token SET expires_at = ? WHERE selector = ?",
                    arguments: [Date().timeIntervalSince1970 + 3600, selector],
                    postgres: "UPDATE remember_token SET expires_at = now() + interval '1 hour' WHERE selector = \(selector)"
                )
            }
            #expect(try await Browser(client).with(cookie: "remember_token", token).get("/index").status == .ok, "valid again once unexpired")

            _ = try await restarted.logout()
            let again = Browser(client)
            again.setCookie("remember_token", token)
            #expect(try await again.get("/index").status == .found, "a revoked token logs nobody in")
        }
    }

    @Test("Without remember me, no remember cookie is set", arguments: Backend.all)
    func noRememberMe(backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        try await env.withApp { client in
            let browser = Browser(client)
            try await browser.signUp("alice")
            #expect(browser.cookie("remember_token") == nil)
        }
    }

    @Test("After login, next is followed only when it is a path on this site", arguments: [
        ("/user/alice", "/user/alice"),
        ("/edit_profile?x=1", "/edit_profile?x=1"),
        ("//evil.com", "/index"),
        ("///evil.com", "/index"),
        ("/\\evil.com", "/index"),
        ("https://evil.com", "/index"),
        ("https:evil.com", "/index"),
        ("/%2F/evil.com", "/index"),
        ("/%5Cevil.com", "/index"),
        ("/ok%0d%0aSet-Cookie:x=y", "/index"),
        ("evil.com", "/index"),
    ])
    func nextRedirect(next: String, expected: String) async throws {
        let env = try TestEnvironment()
        defer { env.removeFiles() }
        try await env.withApp { client in
            let browser = Browser(client)
            try await browser.register("alice")
            let page = try await browser.login("alice", next: next)
            #expect(page.status == .found)
            #expect(page.location == expected)
        }
    }

    @Test("Anonymous requests for login-only pages go to /login?next=<path>", arguments: Backend.all, ["/", "/index", "/edit_profile", "/user/alice"])
    func loginRequired(backend: Backend, path: String) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        try await env.withApp { client in
            let page = try await Browser(client).get(path)
            #expect(page.status == .found)
            #expect(page.location == "/login?next=\(path)")
        }
    }
}

@Suite("Hostile cookies")
struct HostileCookieTests {
    @Test("A tampered, truncated, oversized or foreign session, remember, flash or signed-out form cookie means anonymous, never a 5xx", arguments: Backend.all, [
        ("session", "AAAA"), ("session", String(repeating: "x", count: 3000)), ("session", "%00%FF"),
        ("remember_token", "abc"), ("remember_token", "a.b.c"), ("remember_token", String(repeating: "y", count: 3000) + ".z"),
        ("remember_token", "."), ("remember_token", "\u{FFFD}.%C3%28"),
        ("flash", "99999999999999999999999.aGk.x"), ("flash", "-1.aGk.x"), ("flash", "4102444800.%FF%FE.AAAA"),
        ("flash", String(repeating: "f", count: 5000)), ("csrf_nonce", String(repeating: "\u{00E9}", count: 43)),
        ("csrf_nonce", String(repeating: "A", count: 43) + "\u{0}"),
    ])
    func hostileCookie(backend: Backend, cookie: (name: String, value: String)) async throws {
        let (name, value) = cookie
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        try await env.withApp { client in
            let browser = Browser(client)
            browser.setCookie(name, value)
            let home = try await browser.get("/index")
            #expect(home.status == .found)
            #expect(home.location == "/login?next=/index")
            let login = try await browser.get("/login")
            #expect(login.status == .ok)
            #expect(login.csrfToken != nil, "a fresh session")
        }
        let logged = env.logs.entries.map { "\($0.message) \($0.metadata)" }.joined(separator: "\n")
        #expect(!logged.contains(value) || value.count < 4, "the cookie's value is never logged")
    }
}
