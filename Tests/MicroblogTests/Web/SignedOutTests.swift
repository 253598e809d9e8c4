import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Testing
@testable import Microblog

/// A signed-out visitor reads forms without the server writing anything: the forms' CSRF tokens are signed, not
/// stored, and a session row exists only for a signed-in user.
@Suite("Signed-out pages write nothing")
struct SignedOutTests {
    @Test("10,000 signed-out GET /login and GET /register leave every table's row count unchanged", arguments: Backend.all)
    func noRows(backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        try await env.withApp { client in
            // Given a site with a user, a post and a signed-in session
            let alice = Browser(client)
            try await alice.signUp("alice")
            #expect(try await alice.post("/index", [("post", "hello")]).status == .found)
            let before = try await env.withStore { try await StoreBackdoor.rowCounts($0) }
            #expect(before["session"] == 1, "alice's session only: \(before)")

            // When 10,000 new visitors open the two signed-out forms
            try await withThrowingTaskGroup(of: Void.self) { group in
                for lane in 0..<4 {
                    group.addTask {
                        for index in stride(from: lane, to: 10_000, by: 4) {
                            let page = try await Browser(client).get(index.isMultiple(of: 2) ? "/login" : "/register")
                            guard page.status == .ok, page.csrfToken?.isEmpty == false,
                                  page.headers[values: .setCookie].contains(where: { $0.hasPrefix("\(SignedOutCSRF.cookieName)=") }),
                                  !page.headers[values: .setCookie].contains(where: { $0.hasPrefix("session=") })
                            else {
                                Issue.record("visit \(index): \(page.status) \(page.headers[values: .setCookie])")
                                return
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }

            // Then no table has a row more or less
            let after = try await env.withStore { try await StoreBackdoor.rowCounts($0) }
            #expect(after == before)
        }
    }

    /// Expects `GET /login` and `GET /register` to answer 200 with a form; returns the fastest of three answers to each.
    @discardableResult
    static func expectForms(_ visitor: Browser) async throws -> [Duration] {
        var times: [Duration] = []
        for path in ["/login", "/register"] {
            var fastest = Duration.seconds(3600)
            for _ in 0..<3 {
                let start = ContinuousClock.now
                let page = try await visitor.get(path)
                fastest = min(fastest, ContinuousClock.now - start)
                #expect(page.status == .ok, "\(path): \(page.status)")
                #expect(page.csrfToken?.isEmpty == false, "\(path)")
            }
            times.append(fastest)
        }
        return times
    }

    @Test("The session row is made at login and deleted at logout; the flash after registering travels in a signed cookie", arguments: Backend.all)
    func sessionRowLifetime(backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        try await env.withApp { client in
            let browser = Browser(client)
            let registered = try await browser.register("alice")
            #expect(registered.status == .found)
            #expect(browser.cookie(FlashCookie.cookieName) != nil)
            #expect(try await env.withStore { try await StoreBackdoor.rowCounts($0)["session"] } == 0)

            // The next page shows the message once and deletes the cookie.
            let login = try await browser.get("/login")
            #expect(login.contains("Congratulations, you are now a registered user!"))
            #expect(browser.cookie(FlashCookie.cookieName) == nil)
            #expect(!(try await browser.get("/login")).contains("Congratulations"))

            #expect(try await browser.login("alice").status == .found)
            #expect(try await env.withStore { try await StoreBackdoor.rowCounts($0)["session"] } == 1)
            let posted = try await browser.post("/index", [("post", "first")])
            #expect(posted.status == .found)
            #expect(try await browser.get("/index").contains("Your post is now live!"))

            #expect(try await browser.logout().status == .found)
            #expect(try await env.withStore { try await StoreBackdoor.rowCounts($0)["session"] } == 0)
        }
    }

    @Test("A flash cookie the server did not sign shows nothing and is deleted")
    func forgedFlash() async throws {
        let env = try TestEnvironment()
        defer { env.removeFiles() }
        try await env.withApp { client in
            let other = FlashCookie(secretKey: "another key", secureCookies: false)
            let browser = Browser(client)
            browser.setCookie(FlashCookie.cookieName, other.cookie(for: ["<b>Your account was deleted</b>"]).value)
            let page = try await browser.get("/login")
            #expect(page.status == .ok)
            #expect(!page.contains("account was deleted"))
            #expect(browser.cookie(FlashCookie.cookieName) == nil)
        }
    }
}

@Suite("Signed-out CSRF tokens")
struct SignedOutCSRFTests {
    static let key = "test-secret-key-for-signed-out-tokens"

    /// A request carrying `nonce` in the browser's cookie.
    static func request(nonce: String?) -> Request {
        var fields = HTTPFields()
        if let nonce { fields[.cookie] = "\(SignedOutCSRF.cookieName)=\(nonce)" }
        return Request(
            head: HTTPRequest(method: .post, scheme: "http", authority: "localhost", path: "/login", headerFields: fields),
            body: RequestBody(buffer: ByteBuffer())
        )
    }

    @Test("A token is valid for its form, its browser, its key and its hour only")
    func validity() {
        let csrf = SignedOutCSRF(secretKey: Self.key, secureCookies: false)
        let nonce = RandomToken.make()
        let other = RandomToken.make()
        let now = Date()
        let token = Array(csrf.token(for: "/login", nonce: nonce, now: now).utf8)
        let request = Self.request(nonce: nonce)

        #expect(csrf.isValid(token, for: "/login", request: request, now: now))
        #expect(csrf.isValid(token, for: "/login", request: request, now: now + 3500))
        #expect(!csrf.isValid(token, for: "/login", request: request, now: now + 3601), "expired")
        #expect(!csrf.isValid(token, for: "/register", request: request, now: now), "another form")
        #expect(!csrf.isValid(token, for: "/login", request: Self.request(nonce: other), now: now), "another browser")
        #expect(!csrf.isValid(token, for: "/login", request: Self.request(nonce: nil), now: now), "no cookie")
        let otherKey = SignedOutCSRF(secretKey: "another key", secureCookies: false)
        #expect(!otherKey.isValid(token, for: "/login", request: request, now: now), "another SECRET_KEY")
        var forged = token
        forged[forged.count - 1] = forged.last == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        #expect(!csrf.isValid(forged, for: "/login", request: request, now: now), "one character changed")
        // The last base64 character of a 32-byte MAC carries 2 spare bits: a spelling that decodes to the same MAC
        // is another token all the same.
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var respelled = token
        respelled[respelled.count - 1] = alphabet[alphabet.firstIndex(of: token.last!)! ^ 1]
        #expect(Data(base64URL: respelled.split(separator: UInt8(ascii: "."))[1]) == Data(base64URL: token.split(separator: UInt8(ascii: "."))[1]))
        #expect(!csrf.isValid(respelled, for: "/login", request: request, now: now), "a non-canonical spelling of the MAC")
        // Correctly signed, but for an expiry a year away: only the lifetime bound refuses it.
        let farFuture = Array(csrf.token(for: "/login", nonce: nonce, now: now + 86_400 * 365).utf8)
        #expect(csrf.isValid(farFuture, for: "/login", request: request, now: now + 86_400 * 365), "its MAC is good")
        #expect(!csrf.isValid(farFuture, for: "/login", request: request, now: now), "an expiry beyond the lifetime")
        #expect(!csrf.isValid([], for: "/login", request: request, now: now))
    }

    @Test("Posting the signed-out forms: a missing, forged, expired, foreign-key, other-form or other-browser token is the 'form has expired' page")
    func refusedOverHTTP() async throws {
        let env = try TestEnvironment()
        defer { env.removeFiles() }
        try await env.withApp { client in
            let owner = Browser(client)
            #expect(try await owner.register("alice").status == .found)

            let browser = Browser(client)
            let loginToken = try await browser.csrfToken(from: "/login")
            let registerToken = try await browser.csrfToken(from: "/register")
            let nonce = try #require(browser.cookie(SignedOutCSRF.cookieName))
            let stranger = Browser(client)
            let strangerToken = try await stranger.csrfToken(from: "/login")
            let csrf = SignedOutCSRF(secretKey: env.configuration.secretKey, secureCookies: false)
            let expired = csrf.token(for: "/login", nonce: nonce, now: Date() - 3601)
            let foreignKey = SignedOutCSRF(secretKey: "another key", secureCookies: false).token(for: "/login", nonce: nonce, now: Date())
            let forged = String(loginToken.dropLast()) + (loginToken.hasSuffix("A") ? "B" : "A")
            let fields = [("username", "alice"), ("password", "pw-alice-pw")]

            for (name, token) in [
                ("missing", nil), ("forged", forged), ("expired", expired), ("another SECRET_KEY", foreignKey),
                ("issued for /register", registerToken), ("another browser's", strangerToken),
            ] as [(String, String?)] {
                let sent = token.map { [("csrf_token", $0)] + fields } ?? fields
                let page = try await browser.post("/login", sent, csrf: false)
                #expect(page.status == .badRequest, "\(name): \(page.status)")
                #expect(page.contains("The form has expired, please try again."), "\(name)")
                #expect(browser.cookie("session") == nil, "\(name)")
            }
            // The other browser's cookie with this browser's token fails the same way.
            let swapped = Browser(client)
            swapped.setCookie(SignedOutCSRF.cookieName, stranger.cookie(SignedOutCSRF.cookieName))
            let swappedPage = try await swapped.post("/login", [("csrf_token", loginToken)] + fields, csrf: false)
            #expect(swappedPage.status == .badRequest)

            let right = try await browser.post("/login", [("csrf_token", loginToken)] + fields, csrf: false)
            #expect(right.status == .found, "\(right.status)")
            #expect(browser.cookie("session") != nil)
        }
    }
}
