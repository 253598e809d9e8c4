import Foundation
import Testing
@testable import Microblog

/// Answers that must not wait for the database or for a body: the signed-out forms while the database cannot be
/// written, and the 413 for a declared body too large to read. Each must come within 100 ms.
///
/// Timed, so the test command runs this suite on its own, one test at a time (`swift test --filter
/// PromptAnswerTests --no-parallel`), after the rest of the suite: on two cores the other tests running beside it
/// would make the clock measure them.
@Suite("Answers that do not wait")
struct PromptAnswerTests {
    static let limit = Duration.milliseconds(100)

    @Test("Signed-out forms within 100 ms while another connection holds the write lock (SQLite) or a lock on session (PostgreSQL)", arguments: Backend.all)
    func formsWhileLocked(backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        try await env.withApp { client in
            let alice = Browser(client)
            #expect(try await alice.register("alice").status == .found)
            let lock = DatabaseLock(env, table: "session")
            try await lock.take()
            let visitor = Browser(client)
            let times: [Duration]
            do {
                times = try await SignedOutTests.expectForms(visitor)
            } catch {
                try await lock.release()
                throw error
            }
            try await lock.release()
            #expect(times.allSatisfy { $0 < Self.limit }, "\(times)")
            let loggedIn = try await visitor.login("alice")
            #expect(loggedIn.status == .found, "logging in works once the lock is gone: \(loggedIn.status)")
            #expect(visitor.cookie("session") != nil)
        }
    }

    @Test("Signed-out forms within 100 ms on a full disk", .enabled(if: getuid() == 0, "mounting a tmpfs needs root"))
    func formsOnFullDisk() async throws {
        let base = try TestEnvironment()
        defer { base.removeFiles() }
        try await SmallDisk.with(kilobytes: 1024, in: base.directory) { disk in
            var env = base
            env.configuration.databasePath = disk.path + "/app.db"
            try await env.withLiveServer { live in
                #expect(try await Browser(live).register("alice").status == .found)
                let filler = try disk.fill()
                let times = try await SignedOutTests.expectForms(Browser(live))
                #expect(times.allSatisfy { $0 < Self.limit }, "\(times)")
                try FileManager.default.removeItem(atPath: filler)
            }
        }
    }

    @Test("Signed-out forms within 100 ms from a read-only database file", .enabled(if: getuid() == 0, "switching users needs root"))
    func formsFromReadOnlyFile() async throws {
        let env = try TestEnvironment()
        defer { env.removeFiles() }
        try await runProcess("/bin/chown", ["-R", "\(StorageFaultTests.nobody):\(StorageFaultTests.nobody)", env.directory.path])
        let writable = try await ServerProcess.start(
            environment: env.serverEnvironment, workingDirectory: env.directory, unprivilegedUser: StorageFaultTests.nobody
        )
        let registered = try await LiveClient.with(port: writable.port) { live in try await Browser(live).register("alice") }
        #expect(registered.status == .found)
        writable.stop()
        try await runProcess("/bin/chmod", ["a-w", env.configuration.databasePath])
        let readOnly = try await ServerProcess.start(
            environment: env.serverEnvironment, workingDirectory: env.directory, unprivilegedUser: StorageFaultTests.nobody
        )
        defer { readOnly.stop() }
        try await LiveClient.with(port: readOnly.port) { live in
            let visitor = Browser(live)
            let times = try await SignedOutTests.expectForms(visitor)
            #expect(times.allSatisfy { $0 < Self.limit }, "\(times); the server said:\n\(readOnly.outputText)")
        }
    }

    @Test("Content-Length: 10^12 on every POST route: the 413 within 100 ms")
    func declaredTooLarge() async throws {
        let env = try TestEnvironment()
        defer { env.removeFiles() }
        try await env.withApp(.live) { server in
            let port = try #require(server.port)
            for path in EarlyRefusalTests.postRoutes {
                var fastest = Duration.seconds(3600)
                for _ in 0..<3 {
                    let start = ContinuousClock.now
                    let response = try await EarlyRefusalTests.declareHugeBody(port: port, path: path, limit: .seconds(10))
                    fastest = min(fastest, ContinuousClock.now - start)
                    #expect(response.hasPrefix("HTTP/1.1 413"), "\(path)")
                }
                #expect(fastest < Self.limit, "\(path): \(fastest)")
            }
        }
    }
}
