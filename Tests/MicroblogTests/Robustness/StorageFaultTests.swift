import Foundation
import MicroblogClient
import Testing
@testable import Microblog

/// The database on a full disk and a read-only database file. The faults are real: a small tmpfs
/// mounted for the test and filled up; a file without write permission, for a server running as an unprivileged
/// user (mounting and switching users need root, which the test command's machines have).
@Suite("Storage faults", .enabled(if: getuid() == 0, "mounting a tmpfs and switching users need root"))
struct StorageFaultTests {
    @Test("Disk full: the registration rolls back whole, a 503 page and one ERROR; it works again once space returns")
    func diskFull() async throws {
        let base = try TestEnvironment()
        defer { base.removeFiles() }
        try await SmallDisk.with(kilobytes: 1024, in: base.directory) { disk in
            var env = base
            env.configuration.databasePath = disk.path + "/app.db"
            try await Self.fillDuringWrites(env: env, disk: disk)
        }
    }

    static func fillDuringWrites(env: TestEnvironment, disk: SmallDisk) async throws {
        try await env.withLiveServer { live in
            let owner = Browser(live)
            try await owner.signUp("owner")
            let writer = Browser(live)
            let registerToken = try await writer.csrfToken(from: "/register")
            let postToken = try await owner.csrfToken(from: "/index")

            let filler = try disk.fill()
            try await SignedOutTests.expectForms(Browser(live))
            let registration = try await writer.post("/register", FormFields.registration(
                csrfToken: registerToken, username: "latecomer", email: "late@example.com", password: "late-password"
            ), csrf: false)
            #expect(registration.status == .serviceUnavailable, "\(registration.status)")
            #expect(registration.headers[.retryAfter] != nil)
            #expect(registration.contains("Service Unavailable"))
            let post = try await owner.post("/index", [("csrf_token", postToken), ("post", "written to a full disk")], csrf: false)
            #expect(post.status == .serviceUnavailable, "\(post.status)")
            let reading = try await owner.get("/user/owner")
            #expect(reading.status == .ok, "pages that only read keep working: \(reading.status)")

            try FileManager.default.removeItem(atPath: filler)
            let retried = try await writer.register("latecomer", email: "late@example.com", password: "late-password")
            #expect(retried.status == .found, "space is back: \(retried.status)")
            let loggedIn = try await writer.login("latecomer", password: "late-password")
            #expect(loggedIn.status == .found)
            let posted = try await owner.post("/index", [("post", "written after the disk was freed")])
            #expect(posted.status == .found)
        }

        let database = try env.openDatabase()
        #expect(try await database.countUsers(usernameKey: IdentityKey("latecomer")) == 1, "one user, from the retry")
        let posts = try await database.newestPosts(perPage: 10).items.map(\.body)
        #expect(posts == ["written after the disk was freed"], "the post refused on the full disk was never stored")
        let errors = env.logs.entries.filter { $0.level == .error }
        #expect(errors.count == 2, "one ERROR per refused write: \(errors.map(\.message))")
        #expect(errors.allSatisfy { "\($0.message)".contains("disk is full") })
    }
}

extension StorageFaultTests {
    static let nobody: UInt32 = 65534

    @Test("Read-only database file: pages that read work, a write is the 503 page and one ERROR record")
    func readOnlyFile() async throws {
        let env = try TestEnvironment()
        defer { env.removeFiles() }
        let logs = env.directory.appendingPathComponent("logs")
        let environment = env.serverEnvironment
        try await runProcess("/bin/chown", ["-R", "\(Self.nobody):\(Self.nobody)", env.directory.path])

        // A user with a session and a post, while the file is writable.
        let writable = try await ServerProcess.start(environment: environment, workingDirectory: env.directory, unprivilegedUser: Self.nobody)
        let browser = try await LiveClient.with(port: writable.port) { live in
            let browser = Browser(live)
            try await browser.signUp("reader")
            let posted = try await browser.post("/index", [("post", "written while writable")])
            #expect(posted.status == .found)
            // Follows the redirect, as a browser does, so the flashed message is shown and its cookie deleted.
            #expect(try await browser.get("/index").status == .ok)
            return browser
        }
        writable.stop()

        try await runProcess("/bin/chmod", ["a-w", env.configuration.databasePath])
        let readOnly = try await ServerProcess.start(environment: environment, workingDirectory: env.directory, unprivilegedUser: Self.nobody)
        defer { readOnly.stop() }
        try await LiveClient.with(port: readOnly.port) { live in
            try await SignedOutTests.expectForms(Browser(live))
            let reader = Browser(live)
            for name in ["session", "remember_token"] { reader.setCookie(name, browser.cookie(name)) }
            let home = try await reader.get("/index")
            #expect(home.status == .ok, "\(home.status); the server said:\n\(readOnly.outputText)")
            #expect(home.contains("written while writable"))
            let profile = try await reader.get("/user/reader")
            #expect(profile.status == .ok, "\(profile.status)")

            let refused = try await reader.post("/index", [("post", "written while read-only")])
            #expect(refused.status == .serviceUnavailable, "\(refused.status)")
            #expect(refused.headers[.retryAfter] != nil)
            #expect(refused.contains("Service Unavailable"))
        }
        readOnly.stop()

        let errors = readLines(logs.appendingPathComponent("microblog.log").path).filter { $0.contains(" ERROR: ") }
        #expect(errors.count == 1, "one ERROR record for the refused write: \(errors)")
        #expect(errors.first?.contains("read-only") == true, "\(errors)")
    }
}
