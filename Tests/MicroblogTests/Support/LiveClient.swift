import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOHTTP1

/// A client for a live server on a real port that, unlike HummingbirdTesting's AsyncHTTPClient setup, does not
/// follow redirects (the tests check the 302s themselves) and sends requests concurrently over a connection pool.
struct LiveClient: HTTPTransport {
    let client: HTTPClient
    let port: Int

    func send(uri: String, method: HTTPRequest.Method, headers: HTTPFields, body: ByteBuffer?) async throws -> Page {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(uri)")
        request.method = HTTPMethod(rawValue: method.rawValue)
        for field in headers { request.headers.add(name: field.name.rawName, value: field.value) }
        request.body = body.map { .bytes($0) }
        let response = try await client.execute(request, timeout: .seconds(60))
        var fields = HTTPFields()
        for header in response.headers {
            if let name = HTTPField.Name(header.name) { fields.append(HTTPField(name: name, value: header.value)) }
        }
        let body = try await response.body.collect(upTo: 16 * 1024 * 1024)
        return Page(status: .init(code: Int(response.status.code)), headers: fields, body: String(buffer: body))
    }

    /// Runs `body` with a client for the live server `server` is connected to.
    static func with<Value>(_ server: any TestClientProtocol, _ body: (LiveClient) async throws -> Value) async throws -> Value {
        try await with(port: server.port ?? 0, body)
    }

    /// Runs `body` with a client for a server listening on `port` on loopback.
    static func with<Value>(port: Int, _ body: (LiveClient) async throws -> Value) async throws -> Value {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        // Idle connections are dropped before the server's 15 s keep-alive deadline would close them under a request.
        configuration.connectionPool = .init(idleTimeout: .seconds(10), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            let value = try await body(LiveClient(client: client, port: port))
            try await client.shutdown()
            return value
        } catch {
            try? await client.shutdown()
            throw error
        }
    }
}

extension TestEnvironment {
    /// Runs `body` against the application served live on an ephemeral port.
    func withLiveServer<Value>(_ body: @escaping @Sendable (LiveClient) async throws -> Value) async throws -> Value {
        try await withApp(.live) { server in
            try await LiveClient.with(server, body)
        }
    }
}
