import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Microblog
import Mustache
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

/// A fresh folder for one fixture's SQLite files, removed at teardown.
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

// MARK: Router

/// The whole application from `buildApplication`, driven through Hummingbird's router test client (no sockets),
/// with one registered, logged-in user who has written `posts` posts.
struct RouterFixture: Sendable {
    let folder: ScratchFolder
    let harness: RouterHarness
    let username: String
    /// `Cookie:` with the logged-in session.
    let cookie: String

    static func make(posts: Int) async throws -> RouterFixture {
        let folder = try ScratchFolder()
        let configuration = AppConfiguration(
            secretKey: String(repeating: "k", count: 16) + UUID().uuidString + UUID().uuidString,
            databasePath: folder.path + "/app.db",
            port: 0,
            bcryptCost: 4
        )
        // No log output: the measured path still runs the request-log middleware, into a no-op handler.
        let logger = Logger(label: "microblog-bench", factory: { _ in SwiftLogNoOpLogHandler() })
        let app = try await buildApplication(configuration: configuration, dependencies: AppDependencies(logger: logger))
        let harness = try await RouterHarness.start(app)
        let username = "susan"
        let password = "correct horse battery staple"
        var jar = Jar()
        try await jar.submit(harness, "/register", [
            ("username", username), ("email", "susan@bench.example.com"), ("password", password), ("password2", password),
        ])
        try await jar.submit(harness, "/login", [("username", username), ("password", password)])
        for post in 0..<posts {
            try await jar.submit(harness, "/index", [("post", "Benchmark post number \(post): the quick brown fox jumps over the lazy dog.")], formPage: "/index")
        }
        // Read the flash so the measured pages do not write the session.
        _ = try await jar.send(harness, "/index")
        return RouterFixture(folder: folder, harness: harness, username: username, cookie: jar.header)
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

    func stop() async {
        finish.finish()
        _ = await task.result
    }
}

/// A cookie jar for the fixture's setup requests.
struct Jar {
    private var cookies: [String: String] = [:]

    var header: String { cookies.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "; ") }

    mutating func send(_ harness: RouterHarness, _ path: String, method: HTTPRequest.Method = .get, form: String? = nil) async throws -> TestResponse {
        var headers: HTTPFields = [:]
        if !cookies.isEmpty { headers[.cookie] = header }
        if form != nil { headers[.contentType] = "application/x-www-form-urlencoded" }
        let response = try await harness.client.executeRequest(
            uri: path, method: method, headers: headers, body: form.map { ByteBuffer(string: $0) }
        )
        for setCookie in response.headers[values: .setCookie] {
            guard let pair = setCookie.split(separator: ";").first, let equals = pair.firstIndex(of: "=") else { continue }
            cookies[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
        }
        return response
    }

    /// Fetches the form page for its CSRF token, then posts `fields`; expects the contract's 302.
    mutating func submit(_ harness: RouterHarness, _ path: String, _ fields: [(String, String)], formPage: String? = nil) async throws {
        let page = try await send(harness, formPage ?? path)
        let html = String(buffer: page.body)
        guard let marker = html.range(of: "name=\"csrf_token\" value=\""),
              let end = html.range(of: "\"", range: marker.upperBound..<html.endIndex)
        else { throw FixtureError.unexpected("no csrf_token on \(formPage ?? path) (status \(page.status.code))") }
        let token = String(html[marker.upperBound..<end.lowerBound])
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let body = ([("csrf_token", token)] + fields)
            .map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")" }
            .joined(separator: "&")
        let response = try await send(harness, path, method: .post, form: body)
        guard response.status == .found else {
            throw FixtureError.unexpected("POST \(path) answered \(response.status.code), not 302")
        }
    }
}

// MARK: Views

/// Stand-ins for the server's internal view models, with the same property names: Mustache reads models through
/// `Mirror`, so these render the real templates the same way (setup checks the output to catch drift).
struct LayoutModel: Sendable {
    struct NavUser: Sendable {
        var username: String
        var profilePath: String
    }
    var title: String?
    var currentUser: NavUser?
    var csrfToken: String
    var flashes: [String]
    var hasFlashes: Bool
}

struct FieldModel: Sendable {
    var value: String
    var errors: [String]
}

struct PostModel: Sendable {
    var body: String
    var authorName: String
    var authorPath: String
    var avatarURL: String
}

struct IndexPageModel: Sendable {
    struct Form: Sendable {
        var post: FieldModel
    }
    var layout: LayoutModel
    var form: Form
    var posts: [PostModel]
    var pagination: String?
}

struct UserPageModel: Sendable {
    struct Profile: Sendable {
        var username: String
        var aboutMe: String?
        var lastSeen: String?
        var avatarURL: String
    }
    var layout: LayoutModel
    var profile: Profile
    var isOwnProfile: Bool
    var posts: [PostModel]
    var pagination: String?
}

/// The templates and the two page models, as a logged-in `susan` with 20 posts sees them.
struct ViewFixture: Sendable {
    let views: Views
    let index: IndexPageModel
    let user: UserPageModel

    static func make() async throws -> ViewFixture {
        let views = try await Views.load()
        let layout = LayoutModel(
            title: "Home",
            currentUser: .init(username: "susan", profilePath: "/user/susan"),
            csrfToken: "Xb2kqz3Lr9yTQ0pW1mN8vC4sD7fG6hJ5aK_eR-uIoPl",
            flashes: [],
            hasFlashes: false
        )
        let posts = (0..<20).map { index in
            PostModel(
                body: "Benchmark post number \(index): the quick brown fox jumps over the lazy dog.",
                authorName: "susan",
                authorPath: "/user/susan",
                avatarURL: "https://www.gravatar.com/avatar/0bc83cb571cd1c50ba6f3e8a78ef1346?d=identicon&s=36"
            )
        }
        let index = IndexPageModel(layout: layout, form: .init(post: FieldModel(value: "", errors: [])), posts: posts, pagination: nil)
        var userLayout = layout
        userLayout.title = "susan"
        let user = UserPageModel(
            layout: userLayout,
            profile: .init(
                username: "susan",
                aboutMe: "I like benchmarks & <b>fast</b> pages.",
                lastSeen: "2026-11-26 12:00:00 UTC",
                avatarURL: "https://www.gravatar.com/avatar/0bc83cb571cd1c50ba6f3e8a78ef1346?d=identicon&s=128"
            ),
            isOwnProfile: true,
            posts: posts,
            pagination: nil
        )
        let fixture = ViewFixture(views: views, index: index, user: user)
        let indexHTML = try views.render("index", index)
        let userHTML = try views.render("user", user)
        guard indexHTML.contains("Hi, susan!"), indexHTML.contains("number 19"),
              userHTML.contains("User: susan"), userHTML.contains("&lt;b&gt;fast"), userHTML.contains("number 19")
        else { throw FixtureError.unexpected("the stand-in view models no longer match the templates") }
        return fixture
    }
}

// MARK: Proposed: view models as MustacheParent

/// The same stand-ins answering Mustache's lookups with a `switch` (`MustacheParent`) instead of `Mirror`: what the
/// render benchmarks measure as the proposed change to the server's view models.
struct ParentLayout: MustacheParent, Sendable {
    struct NavUser: MustacheParent, Sendable {
        var base: LayoutModel.NavUser
        func child(named name: String) -> Any? {
            switch name {
            case "username": base.username
            case "profilePath": base.profilePath
            default: nil
            }
        }
    }
    var base: LayoutModel
    func child(named name: String) -> Any? {
        switch name {
        case "title": base.title
        case "currentUser": base.currentUser.map(NavUser.init)
        case "csrfToken": base.csrfToken
        case "flashes": base.flashes
        case "hasFlashes": base.hasFlashes
        default: nil
        }
    }
}

struct ParentField: MustacheParent, Sendable {
    var base: FieldModel
    func child(named name: String) -> Any? {
        switch name {
        case "value": base.value
        case "errors": base.errors
        default: nil
        }
    }
}

struct ParentPost: MustacheParent, Sendable {
    var base: PostModel
    func child(named name: String) -> Any? {
        switch name {
        case "body": base.body
        case "authorName": base.authorName
        case "authorPath": base.authorPath
        case "avatarURL": base.avatarURL
        default: nil
        }
    }
}

struct ParentIndexPage: MustacheParent, Sendable {
    struct Form: MustacheParent, Sendable {
        var post: ParentField
        func child(named name: String) -> Any? { name == "post" ? post : nil }
    }
    var layout: ParentLayout
    var form: Form
    var posts: [ParentPost]

    init(_ page: IndexPageModel) {
        layout = ParentLayout(base: page.layout)
        form = Form(post: ParentField(base: page.form.post))
        posts = page.posts.map(ParentPost.init)
    }

    func child(named name: String) -> Any? {
        switch name {
        case "layout": layout
        case "form": form
        case "posts": posts
        default: nil
        }
    }
}

struct ParentUserPage: MustacheParent, Sendable {
    struct Profile: MustacheParent, Sendable {
        var base: UserPageModel.Profile
        func child(named name: String) -> Any? {
            switch name {
            case "username": base.username
            case "aboutMe": base.aboutMe
            case "lastSeen": base.lastSeen
            case "avatarURL": base.avatarURL
            default: nil
            }
        }
    }
    var layout: ParentLayout
    var profile: Profile
    var isOwnProfile: Bool
    var posts: [ParentPost]

    init(_ page: UserPageModel) {
        layout = ParentLayout(base: page.layout)
        profile = Profile(base: page.profile)
        isOwnProfile = page.isOwnProfile
        posts = page.posts.map(ParentPost.init)
    }

    func child(named name: String) -> Any? {
        switch name {
        case "layout": layout
        case "profile": profile
        case "isOwnProfile": isOwnProfile
        case "posts": posts
        default: nil
        }
    }
}

// MARK: Proposed: Gravatar hex without String(format:)

enum GravatarVariants {
    /// As the server did it before 528a501: `String(format: "%02x")` per digest byte.
    static func formatted(email: String, size: Int) -> String {
        let normalised = email.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        let digest = Insecure.MD5.hash(data: Data(normalised.utf8))
        let hex = digest.map { String(format: "%02x", $0) }.joined()
        return "https://www.gravatar.com/avatar/\(hex)?d=identicon&s=\(size)"
    }

    /// A nibble table into one byte buffer (the server's `Gravatar` does the same since 528a501).
    static func table(email: String, size: Int) -> String {
        let normalised = email.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        let digest = Insecure.MD5.hash(data: Data(normalised.utf8))
        let digits = Array("0123456789abcdef".utf8)
        var hex = [UInt8]()
        hex.reserveCapacity(32)
        for byte in digest {
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 0x0F)])
        }
        return "https://www.gravatar.com/avatar/\(String(decoding: hex, as: UTF8.self))?d=identicon&s=\(size)"
    }
}

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
