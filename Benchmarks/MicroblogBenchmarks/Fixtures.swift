import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Microblog
import MicroblogClient
import Mustache
import MustacheReference
import NIOCore
import Synchronization

/// A fixture made by a benchmark's `setup` hook and read by its closure: the closure never builds what it reads.
final class FixtureSlot<Value: Sendable>: Sendable {
    private let value = Mutex<Value?>(nil)

    init() {}

    func set(_ newValue: Value?) {
        value.withLock { $0 = newValue }
    }

    /// The fixture.
    /// - Throws: ``FixtureError/notSetUp`` when the setup hook did not run or failed.
    func get() throws(FixtureError) -> Value {
        guard let current = value.withLock({ $0 }) else { throw .notSetUp }
        return current
    }

    /// Takes the fixture out (for teardown).
    func take() -> Value? {
        value.withLock { current in
            defer { current = nil }
            return current
        }
    }
}

/// Why a fixture could not be made.
enum FixtureError: Error, CustomStringConvertible {
    case notSetUp
    case unexpected(String)

    var description: String {
        switch self {
        case .notSetUp: "the benchmark's setup hook did not run"
        case .unexpected(let what): what
        }
    }
}

/// A fresh folder for one fixture's files, removed at teardown.
struct ScratchFolder: Sendable {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "microblog-bench-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Fresh names for claims, never repeated within a process.
final class NameSource: Sendable {
    private let counter = Atomic<Int>(0)
    let prefix: String

    init(prefix: String) {
        self.prefix = prefix
    }

    func next() -> String {
        "\(prefix)\(counter.add(1, ordering: .relaxed).newValue)"
    }
}

// MARK: Registry

/// A database with `claimants` users, and the registry over it.
struct RegistryFixture: Sendable {
    let folder: ScratchFolder
    let database: SQLiteStore
    let registry: UserRegistry
    let userIDs: [Int64]
    let names: NameSource

    static func make(claimants: Int) async throws -> RegistryFixture {
        let folder = try ScratchFolder()
        let database = try SQLiteStore.openFile(atPath: folder.path + "/registry.db")
        let registry = UserRegistry(database: database)
        var userIDs: [Int64] = []
        for index in 0..<claimants {
            let user = try await registry.register(
                username: "claimant\(index)", email: "claimant\(index)@bench.example.com", passwordHash: "not-a-hash"
            )
            guard let id = user.id else { throw FixtureError.unexpected("registered user without id") }
            userIDs.append(id)
        }
        return RegistryFixture(folder: folder, database: database, registry: registry, userIDs: userIDs, names: NameSource(prefix: "n"))
    }
}

// MARK: The user the pages show

/// `susan`, the user every page benchmark shows: registered through ``UserRegistry`` with an about-me text that
/// needs escaping, and her posts written through the store, as the server writes them.
enum PageUser {
    static let username = "susan"
    static let password = "correct horse battery staple"
    static let aboutMe = "I like benchmarks & <b>fast</b> pages."

    static func seed(_ database: some Store, posts: Int) async throws {
        let registry = UserRegistry(database: database)
        let hash = try await PasswordHasher(cost: 4).hash(password)
        let user = try await registry.register(username: username, email: "susan@bench.example.com", passwordHash: hash)
        guard let id = user.id else { throw FixtureError.unexpected("registered user without id") }
        try await registry.updateProfile(userID: id, username: username, aboutMe: aboutMe)
        for post in 0..<posts {
            try await database.createPost(
                authorID: id, body: "Benchmark post number \(post): the quick brown fox jumps over the lazy dog.", at: Date()
            )
        }
    }
}

// MARK: Router

/// The whole application from `buildApplication`, driven through Hummingbird's router test client (no sockets),
/// with ``PageUser`` logged in.
struct RouterFixture: Sendable {
    let folder: ScratchFolder
    let harness: RouterHarness
    /// `Cookie:` with the logged-in session.
    let cookie: String

    static func make(posts: Int) async throws -> RouterFixture {
        let folder = try ScratchFolder()
        let databasePath = folder.path + "/app.db"
        try await PageUser.seed(SQLiteStore.openFile(atPath: databasePath), posts: posts)
        let configuration = AppConfiguration(
            secretKey: String(repeating: "k", count: 16) + UUID().uuidString + UUID().uuidString,
            databasePath: databasePath,
            port: 0,
            bcryptCost: 4
        )
        // No log output: the measured path still runs the request-log middleware, into a no-op handler.
        let logger = Logger(label: "microblog-bench", factory: { _ in SwiftLogNoOpLogHandler() })
        let app = try await buildApplication(configuration: configuration, dependencies: AppDependencies(logger: logger))
        let harness = try await RouterHarness.start(app)
        let cookie = try await harness.logIn(username: PageUser.username, password: PageUser.password)
        let fixture = RouterFixture(folder: folder, harness: harness, cookie: cookie)
        // Each page once, so that the measured requests are the steady state and show the user's last post.
        for path in ["/index", "/user/\(PageUser.username)"] {
            let page = try await fixture.get(path)
            guard page.status == .ok, String(buffer: page.body).contains("Benchmark post number \(posts - 1):") else {
                throw FixtureError.unexpected("GET \(path) answered \(page.status.code) without the last post")
            }
        }
        return fixture
    }

    /// GET `path` as the logged-in user.
    func get(_ path: String) async throws -> TestResponse {
        try await harness.client.executeRequest(uri: path, method: .get, headers: [.cookie: cookie], body: nil)
    }

    func stop() async {
        await harness.stop()
        folder.remove()
    }
}

/// Keeps `app.test(.router)` open in a task so its client can be used across benchmark samples; `stop()` ends it.
final class RouterHarness: Sendable {
    let client: any TestClientProtocol
    private let finish: AsyncStream<Void>.Continuation
    private let task: Task<Void, any Error>

    private init(client: any TestClientProtocol, finish: AsyncStream<Void>.Continuation, task: Task<Void, any Error>) {
        self.client = client
        self.finish = finish
        self.task = task
    }

    static func start(_ app: some ApplicationProtocol) async throws -> RouterHarness {
        let (stopSignal, finish) = AsyncStream<Void>.makeStream()
        let (clients, clientContinuation) = AsyncThrowingStream<any TestClientProtocol, any Error>.makeStream()
        let task = Task {
            do {
                try await app.test(.router) { client in
                    clientContinuation.yield(client)
                    for await _ in stopSignal {}
                }
                clientContinuation.finish()
            } catch {
                clientContinuation.finish(throwing: error)
                throw error
            }
        }
        var iterator = clients.makeAsyncIterator()
        guard let client = try await iterator.next() else { throw FixtureError.unexpected("the router test client never started") }
        return RouterHarness(client: client, finish: finish, task: task)
    }

    /// Logs in as a browser does (the login form, whose signed CSRF token is bound to a cookie it sets, then the
    /// POST) and returns the `Cookie:` header that carries the session.
    func logIn(username: String, password: String) async throws -> String {
        let jar = CookieJar()
        let form = try await client.executeRequest(uri: "/login", method: .get, headers: [:], body: nil)
        jar.store(setCookies: form.headers[values: .setCookie])
        guard let token = HTML.csrfToken(in: String(buffer: form.body)) else {
            throw FixtureError.unexpected("no csrf_token on /login (status \(form.status.code))")
        }
        var headers: HTTPFields = [.contentType: FormEncoding.contentType]
        headers[.cookie] = jar.header
        let body = FormEncoding.encode(FormFields.login(csrfToken: token, username: username, password: password))
        let response = try await client.executeRequest(uri: "/login", method: .post, headers: headers, body: ByteBuffer(string: body))
        guard response.status == .found else { throw FixtureError.unexpected("POST /login answered \(response.status.code), not 302") }
        jar.store(setCookies: response.headers[values: .setCookie])
        guard let cookie = jar.header else { throw FixtureError.unexpected("POST /login left no cookie") }
        return cookie
    }

    func stop() async {
        finish.finish()
        _ = await task.result
    }
}

// MARK: Render

/// The `index` and `user` pages ``PageUser`` sees, with their posts: the server's page models, built as
/// `MainController` builds them from the store's rows; and swift-mustache with the same template files.
struct RenderFixture: Sendable {
    let index: IndexPage
    let user: UserPage
    let mustache: MustacheLibrary

    static func make(posts: Int) async throws -> RenderFixture {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let database = try SQLiteStore.openFile(atPath: folder.path + "/render.db")
        try await PageUser.seed(database, posts: posts)
        let feed = try await database.newestPosts(perPage: posts)
        guard let (user, found) = try await database.userPage(usernameKey: IdentityKey(PageUser.username), at: .newest, perPage: posts),
              let ownPosts = found
        else { throw FixtureError.unexpected("\(PageUser.username) has no profile page") }
        let profilePath = "/user/\(PageUser.username)"
        func layout(title: String) -> LayoutModel {
            LayoutModel(
                title: title,
                currentUser: .init(username: user.username, profilePath: profilePath),
                csrfToken: "Xb2kqz3Lr9yTQ0pW1mN8vC4sD7fG6hJ5aK_eR-uIoPl",
                flashes: []
            )
        }
        let index = IndexPage(
            layout: layout(title: "Home"),
            form: .init(post: FieldModel()),
            posts: PostModel.list(feed.items),
            pagination: PaginationModel(page: feed, basePath: "/index")
        )
        let userPage = UserPage(
            layout: layout(title: user.username),
            profile: .init(user),
            isOwnProfile: true,
            posts: PostModel.list(ownPosts.items),
            pagination: PaginationModel(page: ownPosts, basePath: profilePath)
        )
        let fixture = RenderFixture(index: index, user: userPage, mustache: try await MustacheReference.load().library)

        // Both renderers must write the same page, and a page with the user, her last post and the escaped text.
        let indexHTML = html { fixture.index.render(into: &$0) }
        let userHTML = html { fixture.user.render(into: &$0) }
        guard indexHTML == fixture.mustache.render(index, withTemplate: "index"),
              userHTML == fixture.mustache.render(userPage, withTemplate: "user")
        else { throw FixtureError.unexpected("swift-mustache and the compiled templates render different pages") }
        guard indexHTML.contains("Hi, susan!"), indexHTML.contains("number \(posts - 1)"),
              userHTML.contains("User: susan"), userHTML.contains("&lt;b&gt;fast"), userHTML.contains("number \(posts - 1)")
        else { throw FixtureError.unexpected("the pages do not show susan and her posts") }
        return fixture
    }

    /// The page a compiled `render(into:)` writes, as text.
    static func html(_ render: (inout HTMLWriter) -> Void) -> String {
        var writer = HTMLWriter()
        render(&writer)
        return String(buffer: writer.buffer)
    }
}

// MARK: Log sink

/// A running ``LogSink`` on a scratch folder, with a logger feeding it records shaped like the server's.
struct LogSinkFixture: Sendable {
    let folder: ScratchFolder
    let sink: LogSink
    let logger: Logger
    let run: Task<Void, any Error>

    static func make(maxBytes: Int = LogConfiguration().maxBytes) throws -> LogSinkFixture {
        let folder = try ScratchFolder()
        let sink = LogSink(configuration: LogConfiguration(directory: folder.path + "/logs", maxBytes: maxBytes), mail: nil)
        let run = Task { try await sink.run() }
        var logger = Logger(label: "microblog") { sink.makeHandler(label: $0) }
        logger[metadataKey: "hb.request.id"] = "4f1c2a9b7d3e8f60"
        return LogSinkFixture(folder: folder, sink: sink, logger: logger, run: run)
    }

    /// `count` INFO records, each with a message and two metadata values, as a 404 is logged.
    func logRecords(_ count: Int) {
        for index in 0..<count {
            logger.info("Not found", metadata: ["hb.request.method": "GET", "hb.request.path": "/user/nobody-\(index)"])
        }
    }

    func stop() async {
        await sink.flush()
        run.cancel()
        _ = await run.result
        folder.remove()
    }
}
