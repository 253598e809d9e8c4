import AsyncHTTPClient
import Foundation
import MicroblogClient
import NIOCore
import NIOHTTP1

/// A server speaking the microblog HTTP contract (DESIGN.md), reached through one shared `HTTPClient` that never
/// follows redirects, so a successful form POST is seen as the 302 it is.
struct Site: Sendable {
    let client: HTTPClient
    /// `scheme://host:port`, no trailing slash.
    let baseURL: String
    let timeout: TimeAmount

    /// The largest body read; a microblog page is a few KiB.
    static let maximumBodySize = 4 << 20

    /// Sends one request with `jar`'s cookies and stores the cookies the answer sets.
    /// - Throws: transport errors (connection refused, timeout), never for an HTTP status.
    func send(_ method: HTTPMethod, _ path: String, form: [(String, String)]? = nil, jar: CookieJar) async throws -> Answer {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        if let cookie = jar.header { request.headers.add(name: "Cookie", value: cookie) }
        if let form {
            let body = FormEncoding.encode(form)
            request.headers.add(name: "Content-Type", value: FormEncoding.contentType)
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await client.execute(request, timeout: timeout)
        jar.store(setCookies: response.headers["Set-Cookie"])
        let body = try await response.body.collect(upTo: Self.maximumBodySize)
        return Answer(status: Int(response.status.code), body: String(buffer: body), location: response.headers.first(name: "Location"))
    }

    /// Builds the client: no redirects, enough HTTP/1.1 connections for `connections` requests at once.
    static func makeClient(connections: Int) -> HTTPClient {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(10), read: .seconds(60)),
            connectionPool: .init(idleTimeout: .seconds(120), concurrentHTTP1ConnectionsPerHostSoftLimit: max(1, connections))
        )
        configuration.httpVersion = .http1Only
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    /// Checks that `url` is an http URL on this machine's loopback, and returns it without a trailing slash.
    static func checkedBaseURL(_ url: String, allowRemote: Bool) throws -> String {
        guard let components = URLComponents(string: url), components.scheme == "http" || components.scheme == "https",
              let host = components.host, !host.isEmpty
        else { throw StressError.usage("--url must look like http://127.0.0.1:8080") }
        let loopback = host == "localhost" || host.hasPrefix("127.") || host == "::1" || host == "[::1]"
        if !loopback && !allowRemote {
            throw StressError.usage("\(host) is not a loopback address: this tool only drives servers on this machine")
        }
        var base = url
        while base.hasSuffix("/") { base.removeLast() }
        return base
    }
}

/// One answer from the server, body read whole.
struct Answer: Sendable {
    var status: Int
    var body: String
    var location: String?

    /// How a form POST ended, by the contract: 302 is success, a re-rendered form (200) is a rejection.
    var outcome: Outcome {
        switch status {
        case 302, 303: .success
        case 200: .rejected
        case 500...599: .serverError
        default: .other
        }
    }
}

/// How one request of a burst ended.
enum Outcome: String, Sendable, Codable {
    case success, rejected, serverError, other, transportError
}

/// One visitor: a cookie jar on a site. Registered users also know their name and password.
struct Visitor: Sendable {
    let site: Site
    let jar = CookieJar()

    init(site: Site) {
        self.site = site
    }

    func get(_ path: String) async throws -> Answer {
        try await site.send(.GET, path, jar: jar)
    }

    func post(_ path: String, _ form: [(String, String)]) async throws -> Answer {
        try await site.send(.POST, path, form: form, jar: jar)
    }

    /// Reads the `csrf_token` hidden input of the form page at `path`.
    /// - Throws: ``StressError/protocolViolation(_:)`` when the page has none.
    func csrfToken(from path: String) async throws -> String {
        let page = try await get(path)
        guard let token = HTML.csrfToken(in: page.body) else {
            throw StressError.protocolViolation("GET \(path) answered \(page.status) without a csrf_token input")
        }
        return token
    }

    /// Registers `username` (the form on `/register`) and answers how it went.
    func register(username: String, email: String, password: String) async throws -> Answer {
        let token = try await csrfToken(from: "/register")
        return try await post("/register", FormFields.registration(csrfToken: token, username: username, email: email, password: password))
    }

    /// Logs in; true on the contract's 302.
    func logIn(username: String, password: String) async throws -> Bool {
        let token = try await csrfToken(from: "/login")
        let answer = try await post("/login", FormFields.login(csrfToken: token, username: username, password: password))
        return answer.outcome == .success
    }
}

/// Why a run stopped.
enum StressError: Error, CustomStringConvertible {
    case usage(String)
    case protocolViolation(String)
    case setupFailed(String)

    var description: String {
        switch self {
        case .usage(let message): "usage: \(message)"
        case .protocolViolation(let message): "the server does not follow the HTTP contract: \(message)"
        case .setupFailed(let message): "setup failed: \(message)"
        }
    }
}
