import Foundation
import Testing
@testable import Microblog

/// SIGTERM on the real executable: the listener closes, idle keep-alive connections close, a request in flight is
/// answered, the log sink writes what it holds, and the process exits 0; a request that never completes cannot hold
/// the process past `SHUTDOWN_TIMEOUT`.
@Suite("Graceful shutdown")
struct GracefulShutdownTests {
    /// The head of a login form post whose body is `length` bytes, of which the caller sends some later.
    static func loginHead(length: Int) -> String {
        "POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            + "Content-Length: \(length)\r\n\r\n"
    }

    @Test("SIGTERM: new connections refused, the idle connection closed, the request in flight answered, the log flushed, exit 0")
    func drains() async throws {
        let env = try TestEnvironment()
        defer { env.removeFiles() }
        // Each request's log line (DEBUG) says when the server has read a request's head.
        let server = try await ServerProcess.start(
            environment: env.serverEnvironment.merging(["LOG_LEVEL": "debug"]) { $1 },
            workingDirectory: env.directory
        )
        defer { server.stop() }

        let idle = try await RawConnection.open(port: server.port)
        try await idle.send("GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        #expect(try await idle.waitForResponse().hasPrefix("HTTP/1.1 200"))

        // A request in flight: its head is in, its body half sent.
        let body = "username=nobody&password=wrong-password"
        let inFlight = try await RawConnection.open(port: server.port)
        try await inFlight.send(Self.loginHead(length: body.utf8.count) + body.prefix(10))
        try await server.waitForOutput("hb.request.method=POST")

        server.process.terminate()
        // The idle connection is closed once the listener is (both on the server channel's event loop, in that order).
        try await idle.waitUntilClosed()
        await #expect(throws: (any Error).self, "a new connection is refused while the server drains") {
            try await RawConnection.open(port: server.port).close()
        }
        #expect(server.process.isRunning, "the request in flight holds the process")

        try await inFlight.send(String(body.dropFirst(10)))
        let answer = try await inFlight.waitForResponse()
        #expect(answer.hasPrefix("HTTP/1.1 "), "the request in flight gets its answer: \(answer.prefix(200))")
        #expect(!answer.hasPrefix("HTTP/1.1 5"), "\(answer.prefix(200))")
        try await inFlight.waitUntilClosed()

        try await server.waitForExit()
        #expect(server.process.terminationReason == .exit && server.process.terminationStatus == 0, "\(server.outputText)")
        #expect(server.outputText.contains("Microblog stopped"), "\(server.outputText.suffix(2000))")
        let log = try String(contentsOf: env.directory.appendingPathComponent("logs/microblog.log"), encoding: .utf8)
        #expect(log.contains("Microblog stopping"), "the sink wrote what it held before it stopped:\n\(log.suffix(2000))")
    }

    @Test("A request that never completes is dropped at SHUTDOWN_TIMEOUT and the process still exits")
    func boundedByTimeout() async throws {
        let env = try TestEnvironment()
        defer { env.removeFiles() }
        let server = try await ServerProcess.start(
            environment: env.serverEnvironment.merging([
                "LOG_LEVEL": "debug", "SHUTDOWN_TIMEOUT": "1", "REQUEST_BODY_TIMEOUT": "3600",
            ]) { $1 },
            workingDirectory: env.directory
        )
        defer { server.stop() }

        let stuck = try await RawConnection.open(port: server.port)
        try await stuck.send(Self.loginHead(length: 100) + "username=")
        try await server.waitForOutput("hb.request.method=POST")

        server.process.terminate()
        // Its body would be waited for an hour; only the shutdown's limit can end the process.
        try await server.waitForExit()
        #expect(server.process.terminationReason == .exit && server.process.terminationStatus == 0, "\(server.outputText)")
        #expect(server.outputText.contains("the shutdown took longer than 1 s"), "\(server.outputText.suffix(2000))")
        try await stuck.waitUntilClosed()
        #expect(stuck.response.isEmpty, "dropped unanswered: \(stuck.response.prefix(200))")
    }
}
