import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import Microblog

@Suite("Storage calls per page")
struct StorageCallsTests {
    @Test(
        "A logged-in /user or /index page makes at most two storage calls: the session with its user, then the page's data",
        arguments: Backend.all
    )
    func twoCallsPerPage(backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        try await env.withStore { store in
            let counting = CountingStore(store)
            let app = try await Self.makeApplication(env, store: counting)
            try await app.test(.router) { client in
                let bob = Browser(client)
                try await bob.signUp("bob")
                try await bob.post("/index", [("post", "from bob")])
                let alice = Browser(client)
                try await alice.signUp("alice")
                for n in 1...4 {
                    try await alice.post("/index", [("post", "post \(n)")])
                }
                // 3 posts a page (TestEnvironment): page 1 has an older page, page 2 a newer one.
                let profileOlder = try #require(MainControllerTests.link("Older posts", in: try await alice.get("/user/alice")))
                let indexOlder = try #require(MainControllerTests.link("Older posts", in: try await alice.get("/index")))
                for path in ["/user/alice", profileOlder, "/user/bob", "/index", indexOlder, "/"] {
                    var status: HTTPResponse.Status?
                    let calls = try await counting.calls { status = try await alice.get(path).status }
                    #expect(status == .ok, "\(path)")
                    #expect(calls.count <= 2, "\(path) made \(calls.count) storage calls: \(calls)")
                    #expect(calls.first == "session(key:)", "\(path): the count sees the session's read")
                }
                let unknown = try await counting.calls { _ = try await alice.get("/user/nobody") }
                #expect(unknown.count <= 2, "/user/nobody made \(unknown.count) storage calls: \(unknown)")
            }
        }
    }

    /// The application on `store`, with the router ``buildApplication(configuration:dependencies:)`` builds.
    static func makeApplication(_ env: TestEnvironment, store: any Store) async throws -> some ApplicationProtocol {
        let pages = ErrorPages(debug: false, metrics: .none)
        let router = try await buildRouter(
            configuration: env.configuration, database: store, pages: pages, metrics: .none,
            dependencies: AppDependencies(logger: env.logger)
        )
        return Application(router: router, logger: env.logger)
    }
}
