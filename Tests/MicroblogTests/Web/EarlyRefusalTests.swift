import Foundation
import HTTPTypes
import Logging
import MicroblogClient
import Testing
@testable import Microblog

/// What the server refuses before it reads a body or looks at a token: a declared body too large to read, a
/// state-changing request another site sent, and an HTTP/1.1 request without `Host`.
@Suite("Early refusals")
struct EarlyRefusalTests {
    static let postRoutes = ["/login", "/register", "/logout", "/index", "/", "/edit_profile"]

    @Test("Content-Length: 10^12 on every POST route: a 413 page without waiting for the body, the connection closed, nothing logged above INFO")
    func declaredTooLarge() async throws {
        let env = try TestEnvironment()
        defer { env.removeFiles() }
        try await env.withApp(.live) { server in
            let port = try #require(server.port)
            for path in Self.postRoutes {
                // The body never comes: an answer before the 30 s body deadline was given without reading it.
                let response = try await Self.declareHugeBody(port: port, path: path, limit: .seconds(10))
                #expect(response.hasPrefix("HTTP/1.1 413"), "\(path): \(response.prefix(40))")
                #expect(response.contains("Request Too Large"), "\(path)")
                #expect(response.lowercased().contains("connection: close"), "\(path)")
            }
        }
        let loud = env.logs.entries.filter { $0.level > .info }
        #expect(loud.isEmpty, "\(loud.map { "\($0.level) \($0.message)" })")
    }

    /// Sends a POST head declaring a body of 10^12 bytes (and a few bytes of it) and returns the answer, once the
    /// server has also closed the connection.
    static func declareHugeBody(port: Int, path: String, limit: Duration) async throws -> String {
        let connection = try await RawConnection.open(port: port)
        try await connection.send(
            "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n"
                + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000000000000\r\n\r\ncsrf_token=x"
        )
        let response = try await connection.waitForResponse(limit: limit)
        try await connection.waitUntilClosed(limit: limit)
        return response
    }

    @Test("A POST another site sends is the 403 page whatever token it carries; same-origin and header-less ones are judged by the token")
    func crossOrigin() async throws {
        let env = try TestEnvironment()
        defer { env.removeFiles() }
        try await env.withLiveServer { live in
            let own = "http://127.0.0.1:\(live.port)"
            let alice = Browser(live)
            try await alice.signUp("alice")

            let refused: [(String, HTTPFields)] = [
                ("Origin of another host", [.origin: "https://evil.example"]),
                ("Origin of another port", [.origin: "http://127.0.0.1:1"]),
                ("opaque Origin", [.origin: "null"]),
                ("Referer of another host", [.referer: "https://evil.example/page"]),
                ("Sec-Fetch-Site: cross-site", [.origin: own, HTTPField.Name("Sec-Fetch-Site")!: "cross-site"]),
            ]
            for (name, headers) in refused {
                let token = try await alice.csrfToken(from: "/index")
                let body = FormEncoding.encode([(FormFields.csrfTokenName, token), ("post", "sent by \(name)")])
                var fields = headers
                fields[.contentType] = FormEncoding.contentType
                let page = try await alice.send("/index", method: .post, headers: fields, body: .init(string: body))
                #expect(page.status == .forbidden, "\(name): \(page.status)")
                #expect(page.contains("Forbidden"), "\(name)")
            }
            let visitor = Browser(live)
            let token = try await visitor.csrfToken(from: "/login")
            let login = FormEncoding.encode(FormFields.login(csrfToken: token, username: "alice", password: "pw-alice-pw"))
            let crossLogin = try await visitor.send(
                "/login", method: .post,
                headers: [.origin: "https://evil.example", .contentType: FormEncoding.contentType],
                body: .init(string: login)
            )
            #expect(crossLogin.status == .forbidden, "login CSRF: \(crossLogin.status)")
            #expect(visitor.cookie("session") == nil)

            for (name, headers) in [
                ("same Origin", [.origin: own, HTTPField.Name("Sec-Fetch-Site")!: "same-origin"]),
                ("same-origin Referer", [.referer: own + "/index"]),
                ("no such headers", [:]),
            ] as [(String, HTTPFields)] {
                let token = try await alice.csrfToken(from: "/index")
                var fields = headers
                fields[.contentType] = FormEncoding.contentType
                let body = FormEncoding.encode([(FormFields.csrfTokenName, token), ("post", "sent with \(name)")])
                let page = try await alice.send("/index", method: .post, headers: fields, body: .init(string: body))
                #expect(page.status == .found, "\(name): \(page.status)")
            }
            let home = try await alice.get("/index")
            #expect(home.contains("sent with same Origin") && home.contains("sent with no such headers"))
            // Counted in the database, not on a page: a stored refused post could sit on a later page of the feed.
            let stored = try await env.withStore { store in
                try await StoreBackdoor.count(
                    store,
                    sqlite: "SELECT COUNT(*) FROM post WHERE body LIKE 'sent by %'",
                    postgres: "SELECT count(*) FROM post WHERE body LIKE 'sent by %'"
                )
            }
            #expect(stored == 0, "no refused post was stored")
            #expect(try await env.withStore { store in
                try await StoreBackdoor.count(store, sqlite: "SELECT COUNT(*) FROM post", postgres: "SELECT count(*) FROM post")
            } == 3, "the three accepted posts, and only they")
        }
    }

    @Test("An HTTP/1.1 request without Host is a 400 and a close; HTTP/1.0 needs none")
    func missingHost() async throws {
        let env = try TestEnvironment()
        defer { env.removeFiles() }
        try await env.withApp(.live) { server in
            let port = try #require(server.port)
            let missing = try await RawConnection.open(port: port)
            try await missing.send("GET /login HTTP/1.1\r\n\r\n")
            let refused = try await missing.waitForResponse()
            #expect(refused.hasPrefix("HTTP/1.1 400"), "\(refused.prefix(40))")
            try await missing.waitUntilClosed(limit: .seconds(5))

            let old = try await RawConnection.open(port: port)
            try await old.send("GET /login HTTP/1.0\r\n\r\n")
            let answered = try await old.waitForResponse()
            #expect(answered.hasPrefix("HTTP/1.1 200") || answered.hasPrefix("HTTP/1.0 200"), "\(answered.prefix(40))")
            await old.close()

            let present = try await RawConnection.open(port: port)
            try await present.send("GET /login HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n\r\n")
            #expect(try await present.waitForResponse().hasPrefix("HTTP/1.1 200"))
            await present.close()
        }
    }
}
