import Foundation
import Hummingbird
import HummingbirdTesting
import MicroblogClient
import Testing
@testable import Microblog

/// Clients that send slowly, send nothing, send too much head, or open too many connections are cut
/// off at their limit, and everyone else keeps being served.
@Suite("Slow clients and request limits")
struct SlowClientTests {
    /// Deadlines short enough to watch them fire, long enough that an ordinary client's request (sent whole, at
    /// once) is read in time under ThreadSanitizer on a loaded 2-core machine (at 1 s, a test client's own request
    /// was sometimes cut off). A trickled head or body takes over 10 s, so the deadline is what ends it.
    static let headTimeout = Duration.seconds(3)
    static let bodyTimeout = Duration.seconds(2)

    /// A server with the short deadlines above.
    static func environment(maxConnections: Int = 1024) throws -> TestEnvironment {
        var env = try TestEnvironment()
        env.configuration.limits = ConnectionLimits(
            maxConnections: maxConnections,
            headTimeout: headTimeout,
            bodyTimeout: bodyTimeout
        )
        return env
    }

    /// Sends `text` one byte at a time, `interval` apart, until the server closes the connection; returns how
    /// many bytes went out. Throws if `text` runs out first (the server let the client trickle on).
    static func trickle(_ text: String, over connection: RawConnection, interval: Duration = .milliseconds(100)) async throws -> Int {
        var sent = 0
        for byte in text.utf8 {
            guard connection.isOpen else { return sent }
            try? await connection.send(String(decoding: [byte], as: UTF8.self))
            sent += 1
            try await Task.sleep(for: interval)
        }
        Issue.record("the server was still reading after \(sent) bytes")
        return sent
    }

    @Test("A client that connects and sends nothing is disconnected at the head deadline")
    func silentClient() async throws {
        let env = try Self.environment()
        defer { env.removeFiles() }
        try await env.withApp(.live) { client in
            let connection = try await RawConnection.open(port: client.port!)
            let start = ContinuousClock.now
            try await connection.waitUntilClosed()
            let waited = ContinuousClock.now - start
            #expect(waited >= Self.headTimeout - .milliseconds(100), "closed after \(waited), before its deadline")
            #expect(connection.response.isEmpty)
        }
    }

    @Test("A head trickled byte by byte is cut off at the deadline although bytes keep arriving")
    func tricklingHead() async throws {
        let env = try Self.environment()
        defer { env.removeFiles() }
        try await env.withApp(.live) { client in
            let connection = try await RawConnection.open(port: client.port!)
            let head = "GET /login HTTP/1.1\r\nHost: localhost\r\nUser-Agent: " + String(repeating: "s", count: 200) + "\r\n\r\n"
            let sent = try await Self.trickle(head, over: connection)
            #expect(sent < head.utf8.count)
            #expect(!connection.response.contains("200 OK"))
            let page = try await LiveClient.with(client) { try await Browser($0).get("/login") }
            #expect(page.status == .ok, "the server keeps serving others")
        }
    }

    @Test("A body trickled byte by byte is cut off at the deadline: no ERROR, nothing stored, others served")
    func tricklingBody() async throws {
        let env = try Self.environment()
        defer { env.removeFiles() }
        try await env.withApp(.live) { client in
            let (token, session) = try await LiveClient.with(client) { live in
                let browser = Browser(live)
                return (try await browser.csrfToken(from: "/register"), browser.cookie("session") ?? "")
            }
            let body = FormEncoding.encode(FormFields.registration(
                csrfToken: token, username: "slowpoke", email: "slow@example.com", password: "a-long-password"
            ))
            let connection = try await RawConnection.open(port: client.port!)
            // On a loaded machine the server may cut this connection at its head deadline first: also a cut-off.
            try? await connection.send(
                "POST /register HTTP/1.1\r\nHost: localhost\r\nCookie: session=\(session)\r\n"
                    + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: \(body.utf8.count)\r\n\r\n"
            )
            let sent = try await Self.trickle(body, over: connection)
            #expect(sent < body.utf8.count)
            #expect(!connection.response.contains("302"))
            // A fresh client: a pooled connection idle this long would have met the head deadline.
            let page = try await LiveClient.with(client) { try await Browser($0).get("/login") }
            #expect(page.status == .ok, "the server keeps serving others")
        }
        let stored = try await env.openDatabase().countUsers(usernameKey: IdentityKey("slowpoke"))
        #expect(stored == 0, "a cut-off registration stores nothing")
        #expect(!env.logs.entries.contains { $0.level >= .error }, "a slow client is not a server fault")
    }

    @Test("Too many header fields, or too large a head: 400 and the connection closed")
    func oversizedHeads() async throws {
        // The default deadlines: under ThreadSanitizer on a loaded machine a head can take over a second to parse.
        let env = try TestEnvironment()
        defer { env.removeFiles() }
        let limits = env.configuration.limits
        try await env.withApp(.live) { client in
            // Short fields, so the whole head (under 1 KB) arrives in the server's first read: it closes with nothing
            // unread, and the client surely gets the 400 before the close.
            let manyFields = (0...limits.maxHeaderCount).map { "F\($0):v\r\n" }.joined()
            let tooMany = try await RawConnection.open(port: client.port!)
            try await tooMany.send("GET /login HTTP/1.1\r\nHost: localhost\r\n" + manyFields + "\r\n")
            let response = try await tooMany.waitForResponse()
            #expect(response.hasPrefix("HTTP/1.1 400"), "\(response.prefix(80))")
            try await tooMany.waitUntilClosed()

            // A head past the size limit is refused before the server has read all of it; closing with bytes unread
            // makes the kernel send a reset, which may overtake the 400 on a busy machine. So: closed, and if
            // anything arrived, it is the 400.
            let largeCookie = "Cookie: session=" + String(repeating: "c", count: limits.maxHeadBytes) + "\r\n"
            let tooLarge = try await RawConnection.open(port: client.port!)
            try? await tooLarge.send("GET /login HTTP/1.1\r\nHost: localhost\r\n" + largeCookie + "\r\n")
            try await tooLarge.waitUntilClosed()
            #expect(tooLarge.response.isEmpty || tooLarge.response.hasPrefix("HTTP/1.1 400"), "\(tooLarge.response.prefix(80))")
            let page = try await LiveClient.with(client) { try await Browser($0).get("/login") }
            #expect(page.status == .ok)
        }
        #expect(!env.logs.entries.contains { $0.level >= .error })
    }

    @Test("Past MAX_CONNECTIONS, a new connection waits until an idle one is cut off at its deadline")
    func connectionLimit() async throws {
        // The real executable: HummingbirdTesting's live server drops the limit (ApplicationConfiguration.with
        // in Hummingbird 2.28.1 does not carry availableConnectionsDelegate over).
        let env = try TestEnvironment()
        defer { env.removeFiles() }
        let server = try await ServerProcess.start(
            environment: env.serverEnvironment.merging([
                "MAX_CONNECTIONS": "4",
                // Long enough that the waiting connection, once let in, is read before its own head deadline even
                // under ThreadSanitizer on a loaded machine (1 s was not).
                "REQUEST_HEAD_TIMEOUT": "5",
            ]) { $1 },
            workingDirectory: env.directory
        )
        defer { server.stop() }
        // The server accepts in batches of up to 4 (NIO's reads per wake-up), so it may take 3 more than the
        // limit: 8 idle connections fill it either way.
        // Every idle connection's deadline starts after `start`, so none can make room sooner than 5 s after it.
        let start = ContinuousClock.now
        var idle: [RawConnection] = []
        for _ in 0..<8 { idle.append(try await RawConnection.open(port: server.port)) }
        let next = try await RawConnection.open(port: server.port)
        try await next.send("GET /login HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        let response = try await next.waitForResponse()
        let waited = ContinuousClock.now - start
        #expect(response.hasPrefix("HTTP/1.1 200"), "\(response.prefix(80))")
        // Only the idle connections' head deadline (5 s) makes room: an unlimited server answers in milliseconds.
        #expect(waited >= .milliseconds(4900), "answered after \(waited): the limit did not hold it back")
        for connection in idle {
            try await connection.waitUntilClosed()
            #expect(connection.response.isEmpty)
        }
    }

    @Test("While 200 slow clients hold connections, normal requests are all answered")
    func slowClientsDoNotStarveOthers() async throws {
        var env = try TestEnvironment()
        defer { env.removeFiles() }
        // Deadlines far beyond the test's run time, even under ThreadSanitizer on a loaded machine: any slow client
        // found closed was closed for another reason.
        env.configuration.limits = ConnectionLimits(headTimeout: .seconds(900), bodyTimeout: .seconds(900))
        try await env.withApp(.live) { client in
            var slow: [RawConnection] = []
            for index in 0..<200 {
                let connection = try await RawConnection.open(port: client.port!)
                try await connection.send("GET /login HTTP/1.1\r\nHost: localhost\r\nX-Slow-\(index): ")
                slow.append(connection)
            }
            try await LiveClient.with(client) { live in
                try await withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<100 {
                        group.addTask { try await Browser(live).get("/login").status.code }
                    }
                    for try await status in group { #expect(status == 200) }
                }
            }
            let stillOpen = slow.filter(\.isOpen).count
            #expect(stillOpen == slow.count, "the slow clients are still connected: the server did not just drop them")
            for connection in slow { await connection.close() }
        }
    }
}
