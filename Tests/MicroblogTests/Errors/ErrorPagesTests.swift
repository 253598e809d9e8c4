import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
@testable import Microblog

/// A fault a test injects where a real peer cannot produce one.
struct InjectedFault: Error, CustomStringConvertible {
    var description: String { "injected fault: SELECT secret FROM user_table at /srv/microblog/Sources/Secret.swift" }
}

@Suite("Custom error pages, rollback, logging and debug mode")
struct ErrorPagesTests {
    @Test("An unknown URL is the 404 page inside the site layout")
    func unknownURL() async throws {
        let env = try TestEnvironment()
        defer { env.removeFiles() }
        try await env.withApp { client in
            let browser = Browser(client)
            let anonymous = try await browser.get("/no/such/page")
            #expect(anonymous.status == .notFound)
            #expect(anonymous.contains("File Not Found"))
            #expect(anonymous.contains("<a href=\"/index\">Back</a>"))
            #expect(anonymous.contains("<nav>") && anonymous.contains("Login"))
            try await browser.signUp("alice")
            let loggedIn = try await browser.get("/nowhere")
            #expect(loggedIn.status == .notFound)
            #expect(loggedIn.contains("Logout"), "the layout knows who is logged in")
        }
    }

    @Test("A wrong method is a 405 with Allow; HEAD works wherever GET does")
    func methods() async throws {
        let env = try TestEnvironment()
        defer { env.removeFiles() }
        try await env.withApp { client in
            let browser = Browser(client)
            let delete = try await browser.get("/login", method: .delete)
            #expect(delete.status == .methodNotAllowed)
            let allow = try #require(delete.headers[.allow])
            #expect(allow.contains("GET") && allow.contains("POST") && allow.contains("HEAD"))
            let getLogout = try await browser.get("/logout")
            #expect(getLogout.status == .methodNotAllowed)
            #expect(getLogout.headers[.allow] == "POST")
            let putUser = try await browser.get("/user/alice", method: .put)
            #expect(putUser.status == .methodNotAllowed)
            let head = try await browser.get("/login", method: .head)
            #expect(head.status == .ok)
            #expect(head.body.isEmpty)
            let headMissing = try await browser.get("/missing", method: .head)
            #expect(headMissing.status == .notFound)
        }
    }

    @Test("A fault between two writes of one request: the 500 page with a reference, nothing stored, one ERROR record", arguments: Backend.all)
    func serverFaultRollsBack(_ backend: Backend) async throws {
        var env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        env.databaseFaults = DatabaseFaults(betweenPostWrites: { throw InjectedFault() })
        let page = try await env.withApp { client in
            let browser = Browser(client)
            try await browser.signUp("alice")
            return try await browser.post("/index", [("post", "this must not be stored")])
        }
        #expect(page.status == .internalServerError)
        #expect(page.contains("An unexpected error has occurred"))
        #expect(page.contains("The administrator has been notified. Sorry for the inconvenience!"))
        #expect(page.contains("<nav>"))
        for secret in ["injected", "SELECT", "user_table", "/srv", ".swift", "InjectedFault"] {
            #expect(!page.contains(secret), "the 500 page leaks \(secret)")
        }
        let reference = try #require(page.body.firstMatch(of: /Reference: ([0-9a-f]{8})/)?.1)

        let posts = try await env.withStore { try await $0.newestPosts(perPage: 10).items.count }
        #expect(posts == 0, "the post insert was rolled back with the failed request")

        let errors = env.logs.entries.filter { $0.level == .error }
        #expect(errors.count == 1)
        let record = try #require(errors.first)
        #expect(record.metadata["reference"] == .string(String(reference)))
        #expect(record.metadata["method"] == "POST")
        #expect(record.metadata["path"] == "/index")
        #expect(record.metadata["user_id"] != nil && record.metadata["user_id"] != "anonymous")
        #expect(record.metadata["error"]?.description.contains("injected fault") == true)
    }

    @Test("Debug mode shows the error, its chain and the request, with cookies masked; production shows none of it", arguments: Backend.all)
    func debugPage(_ backend: Backend) async throws {
        var env = try await TestEnvironment(backend, debug: true)
        defer { env.removeFiles() }
        env.databaseFaults = DatabaseFaults(betweenPostWrites: { throw InjectedFault() })
        let (page, sessionCookie) = try await env.withApp { client in
            let browser = Browser(client)
            try await browser.signUp("alice")
            let page = try await browser.post("/index", [("post", "x")])
            return (page, browser.cookie("session") ?? "")
        }
        #expect(page.status == .internalServerError)
        #expect(page.contains("Debug mode is on"))
        #expect(page.contains("injected fault"))
        #expect(page.contains("StoreError"))
        #expect(page.contains("POST /index"))
        #expect(page.contains("Raised at") && page.contains(backend == .sqlite ? "Microblog/SQLiteStore+Posts.swift:" : "Microblog/PostgresStore+Posts.swift:"), "the source location")
        #expect(page.contains("&lt;masked&gt;"))
        #expect(!sessionCookie.isEmpty && !page.contains(sessionCookie), "the session cookie is masked")
    }

    @Test("Debug mode refuses a non-loopback address unless forced")
    func debugAddress() throws {
        var configuration = AppConfiguration(secretKey: String(repeating: "k", count: 40), debug: true, host: "0.0.0.0")
        #expect(throws: ConfigurationError.debugOnPublicAddress("0.0.0.0")) { try configuration.checkDebugAddress() }
        configuration.debugAllowRemote = true
        #expect(throws: Never.self) { try configuration.checkDebugAddress() }
        configuration = AppConfiguration(secretKey: String(repeating: "k", count: 40), debug: true, host: "127.0.0.1")
        #expect(throws: Never.self) { try configuration.checkDebugAddress() }
    }

    @Test("A write that waits past the busy timeout is a 503 with Retry-After, and the site recovers", arguments: Backend.all)
    func busyDatabase(_ backend: Backend) async throws {
        var env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        env.configuration.busyTimeout = .milliseconds(200)
        env.configuration.postgres?.lockTimeout = .milliseconds(200)
        let databaseLock = DatabaseLock(env)
        let environment = env
        try await env.withApp { client in
            let browser = Browser(client)
            try await browser.signUp("alice")
            let token = try await browser.csrfToken(from: "/index")
            // A stale last_seen: the next page would like to write it.
            try await environment.withStore { database in
                let alice = try #require(try await database.user(usernameKey: IdentityKey("alice")))
                try await database.touchLastSeen(userID: alice.id!, at: Date(timeIntervalSinceNow: -3600))
            }
            // Another connection (as another process would) holds the lock a new post needs.
            try await databaseLock.take()
            let busy = try await browser.post("/index", [("csrf_token", token), ("post", "while locked")], csrf: false)
            #expect(busy.status == .serviceUnavailable)
            #expect(busy.headers[.retryAfter] != nil)
            #expect(busy.contains("Please try again"))
            #expect(try await browser.get("/user/alice").status == .ok, "reads keep working while the lock is held, last_seen or not")
            try await databaseLock.release()
            let after = try await browser.post("/index", [("csrf_token", token), ("post", "after the lock")], csrf: false)
            #expect(after.status == .found)
        }
        #expect(!env.logs.entries.contains { $0.level == .error }, "a busy database is not a server fault")
    }

    @Test("A registry error is described with the storage failure it wraps")
    func errorChain() {
        let chain = ErrorDescription.chain(RegistryError.store(.failure("disk I/O error", location: "SQLiteStore+Users.swift:12")))
        #expect(chain.count == 2)
        #expect(chain.first?.hasPrefix("Microblog.RegistryError") == true)
        #expect(chain.last?.contains("disk I/O error") == true, "\(chain)")
        #expect(ErrorDescription.chain(RegistryError.usernameTaken).count == 1)
    }

    @Test("Error pages need nothing loaded: the layout is compiled in, so a bare router renders the 500 and 404 pages")
    func pagesWithoutLoading() async throws {
        let pages = ErrorPages(debug: false, metrics: .none)
        let env = try TestEnvironment()
        defer { env.removeFiles() }
        let router = Router(context: AppRequestContext.self)
        router.add(middleware: ErrorPagesMiddleware(pages: pages, withLayout: true))
        router.get("/fail") { _, _ -> Response in throw InjectedFault() }
        router.get("/missing") { _, _ -> Response in throw PageError.notFound }
        let app = Application(router: router, logger: env.logger)
        try await app.test(.router) { client in
            try await client.execute(uri: "/fail", method: .get) { response in
                #expect(response.status == .internalServerError)
                let body = String(buffer: response.body)
                #expect(body.contains("An unexpected error has occurred"))
                #expect(!body.contains("injected"))
            }
            try await client.execute(uri: "/missing", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(String(buffer: response.body).contains("File Not Found"))
            }
        }
    }
}
