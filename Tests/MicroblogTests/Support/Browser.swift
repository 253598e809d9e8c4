import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MicroblogClient
import NIOCore

/// A visitor with a cookie jar: follows the site the way a browser does, one request at a time or many at once.
final class Browser: Sendable {
    let transport: any HTTPTransport
    /// Notes every cookie value the server sets as a secret.
    private let jar = CookieJar { name, value in Artifacts.secret(value, kind: "cookie \(name)") }

    init(_ transport: any HTTPTransport) {
        self.transport = transport
    }

    /// The cookie value the browser holds, if any.
    func cookie(_ name: String) -> String? {
        jar[name]
    }

    func setCookie(_ name: String, _ value: String?) {
        jar[name] = value
    }

    @discardableResult
    func get(_ uri: String, method: HTTPRequest.Method = .get) async throws -> Page {
        try await send(uri, method: method, headers: [:], body: nil)
    }

    /// Posts a form, adding the CSRF token of `tokenFrom` (the form's own page) unless `csrf` is false.
    @discardableResult
    func post(_ uri: String, _ fields: [(String, String)], tokenFrom: String? = nil, csrf: Bool = true) async throws -> Page {
        var fields = fields
        for (name, value) in fields where name.hasPrefix("password") || name == FormFields.csrfTokenName {
            Artifacts.secret(value, kind: name)
        }
        if csrf {
            let token = try await csrfToken(from: tokenFrom ?? uri.split(separator: "?").first.map(String.init) ?? uri)
            fields.insert((FormFields.csrfTokenName, token), at: 0)
        }
        return try await postRaw(uri, body: FormEncoding.encode(fields))
    }

    /// Posts a body exactly as given, as `application/x-www-form-urlencoded`.
    @discardableResult
    func postRaw(_ uri: String, body: String, contentType: String = FormEncoding.contentType) async throws -> Page {
        try await send(uri, method: .post, headers: [.contentType: contentType], body: ByteBuffer(string: body))
    }

    /// Reads the `csrf_token` of the form on `uri`.
    func csrfToken(from uri: String) async throws -> String {
        let page = try await get(uri)
        guard let token = page.csrfToken else { throw BrowserError.noCSRFToken(uri, page.status.code) }
        return token
    }

    func send(_ uri: String, method: HTTPRequest.Method, headers: HTTPFields, body: ByteBuffer?) async throws -> Page {
        var headers = headers
        if let cookies = jar.header { headers[.cookie] = cookies }
        let page = try await transport.send(uri: uri, method: method, headers: headers, body: body)
        Artifacts.page(page, method: method.rawValue, uri: uri)
        jar.store(setCookies: page.headers[values: .setCookie])
        return page
    }

    // MARK: Journeys

    /// Registers `username` with a password that is the name repeated.
    @discardableResult
    func register(_ username: String, email: String? = nil, password: String? = nil) async throws -> Page {
        let password = password ?? "pw-\(username)-pw"
        Artifacts.secret(password, kind: "password")
        let email = email ?? "\(username)@example.com"
        return try await post("/register", FormFields.registration(username: username, email: email, password: password))
    }

    @discardableResult
    func login(_ username: String, password: String? = nil, rememberMe: Bool = false, next: String? = nil) async throws -> Page {
        let password = password ?? "pw-\(username)-pw"
        Artifacts.secret(password, kind: "password")
        let uri = next.map { "/login?next=\(FormEncoding.escape($0))" } ?? "/login"
        let fields = FormFields.login(username: username, password: password, rememberMe: rememberMe)
        return try await post(uri, fields, tokenFrom: "/login")
    }

    /// Registers and logs in.
    func signUp(_ username: String) async throws {
        let registered = try await register(username)
        guard registered.status == .found else { throw BrowserError.unexpected("register \(username): \(registered.body)", registered.status.code) }
        let loggedIn = try await login(username)
        guard loggedIn.status == .found else { throw BrowserError.unexpected("login \(username)", loggedIn.status.code) }
    }

    func logout() async throws -> Page {
        try await post("/logout", [], tokenFrom: "/index")
    }
}

enum BrowserError: Error {
    case noCSRFToken(String, Int)
    case unexpected(String, Int)
}

/// A response as a test reads it.
struct Page: Sendable {
    let status: HTTPResponse.Status
    let headers: HTTPFields
    let body: String
    var location: String? { headers[.location] }

    /// The value of the form's hidden `csrf_token` input.
    var csrfToken: String? { HTML.csrfToken(in: body) }

    /// The `value` of the input named `name`, unescaped.
    func inputValue(named name: String) -> String? { HTML.inputValue(named: name, in: body) }

    func contains(_ text: String) -> Bool { body.contains(text) }
}

/// Something that carries a request to the application and brings back its answer.
protocol HTTPTransport: Sendable {
    func send(uri: String, method: HTTPRequest.Method, headers: HTTPFields, body: ByteBuffer?) async throws -> Page
}

/// HummingbirdTesting's clients (the router, or its live client) as a transport.
struct TestClientTransport: HTTPTransport {
    let client: any TestClientProtocol

    func send(uri: String, method: HTTPRequest.Method, headers: HTTPFields, body: ByteBuffer?) async throws -> Page {
        let response = try await client.executeRequest(uri: uri, method: method, headers: headers, body: body)
        return Page(status: response.status, headers: response.headers, body: String(buffer: response.body))
    }
}

extension Browser {
    convenience init(_ client: any TestClientProtocol) {
        self.init(TestClientTransport(client: client))
    }
}

extension Browser {
    /// This browser after setting a cookie: `Browser(client).with(cookie: "name", value)`.
    func with(cookie name: String, _ value: String) -> Browser {
        setCookie(name, value)
        return self
    }
}
