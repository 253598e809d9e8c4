import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOConcurrencyHelpers

/// A visitor with a cookie jar: follows the site the way a browser does, one request at a time or many at once.
final class Browser: Sendable {
    let transport: any HTTPTransport
    private let cookies = NIOLockedValueBox<[String: String]>([:])

    init(_ transport: any HTTPTransport) {
        self.transport = transport
    }

    /// The cookie value the browser holds, if any.
    func cookie(_ name: String) -> String? {
        cookies.withLockedValue { $0[name] }
    }

    func setCookie(_ name: String, _ value: String?) {
        cookies.withLockedValue { $0[name] = value }
    }

    @discardableResult
    func get(_ uri: String, method: HTTPRequest.Method = .get) async throws -> Page {
        try await send(uri, method: method, headers: [:], body: nil)
    }

    /// Posts a form, adding the CSRF token of `tokenFrom` (the form's own page) unless `csrf` is false.
    @discardableResult
    func post(_ uri: String, _ fields: [(String, String)], tokenFrom: String? = nil, csrf: Bool = true) async throws -> Page {
        var fields = fields
        for (name, value) in fields where name.hasPrefix("password") || name == "csrf_token" {
            Artifacts.secret(value, kind: name)
        }
        if csrf {
            let token = try await csrfToken(from: tokenFrom ?? uri.split(separator: "?").first.map(String.init) ?? uri)
            fields.insert(("csrf_token", token), at: 0)
        }
        return try await postRaw(uri, body: Self.encode(fields))
    }

    /// Posts a body exactly as given, as `application/x-www-form-urlencoded`.
    @discardableResult
    func postRaw(_ uri: String, body: String, contentType: String = "application/x-www-form-urlencoded") async throws -> Page {
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
        let cookieHeader = cookies.withLockedValue { $0.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: "; ") }
        if !cookieHeader.isEmpty { headers[.cookie] = cookieHeader }
        let page = try await transport.send(uri: uri, method: method, headers: headers, body: body)
        Artifacts.page(page, method: method.rawValue, uri: uri)
        for setCookie in page.headers[values: .setCookie] {
            storeCookie(setCookie)
        }
        return page
    }

    private func storeCookie(_ header: String) {
        let attributes = header.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let pair = attributes.first, let equals = pair.firstIndex(of: "=") else { return }
        let name = String(pair[..<equals])
        let value = String(pair[pair.index(after: equals)...])
        Artifacts.secret(value, kind: "cookie \(name)")
        let expired = attributes.contains { $0.lowercased() == "max-age=0" }
            || attributes.contains { $0.lowercased().hasPrefix("expires=") && $0.contains("1970") }
        cookies.withLockedValue { jar in
            jar[name] = (expired || value.isEmpty) ? nil : value
        }
    }

    static func encode(_ fields: [(String, String)]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return fields.map { name, value in
            "\(name)=\(value.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")"
        }.joined(separator: "&")
    }

    // MARK: Journeys

    /// Registers `username` with a password that is the name repeated.
    @discardableResult
    func register(_ username: String, email: String? = nil, password: String? = nil) async throws -> Page {
        let password = password ?? "pw-\(username)-pw"
        Artifacts.secret(password, kind: "password")
        return try await post("/register", [
            ("username", username), ("email", email ?? "\(username)@example.com"),
            ("password", password), ("password2", password), ("submit", "Register"),
        ])
    }

    @discardableResult
    func login(_ username: String, password: String? = nil, rememberMe: Bool = false, next: String? = nil) async throws -> Page {
        let password = password ?? "pw-\(username)-pw"
        Artifacts.secret(password, kind: "password")
        var fields = [("username", username), ("password", password)]
        if rememberMe { fields.append(("remember_me", "y")) }
        let uri = next.map { "/login?next=\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" } ?? "/login"
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

    /// The value of the first hidden `csrf_token` input.
    var csrfToken: String? { inputValue(named: "csrf_token") }

    /// The `value` attribute of the input named `name`.
    func inputValue(named name: String) -> String? {
        guard let nameRange = body.range(of: "name=\"\(name)\"") else { return nil }
        let rest = body[nameRange.upperBound...]
        guard let valueStart = rest.range(of: "value=\"") else { return nil }
        let afterValue = rest[valueStart.upperBound...]
        guard let end = afterValue.firstIndex(of: "\"") else { return nil }
        return String(afterValue[..<end])
    }

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
