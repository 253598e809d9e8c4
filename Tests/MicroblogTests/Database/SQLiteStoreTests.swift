import Foundation
import Testing
@testable import Microblog

@Suite("SQLiteStore")
struct SQLiteStoreTests {
    @Test("A file that is not a database is refused with a clear message and left untouched")
    func notADatabase() throws {
        let env = try TestEnvironment()
        defer { env.removeFiles() }
        let garbage = Data("this is not an SQLite database, it is someone's notes\n".utf8) + Data(repeating: 0x41, count: 4096)
        try garbage.write(to: URL(fileURLWithPath: env.configuration.databasePath))
        #expect(throws: StoreError.notADatabase) { _ = try SQLiteStore.openFile(atPath: env.configuration.databasePath) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: env.configuration.databasePath)) == garbage, "never started empty over it")
        #expect(StoreError.notADatabase.description.contains("not a microblog SQLite database"))
    }

    @Test("A microblog database whose schema page is damaged is refused and left untouched")
    func corruptDatabase() async throws {
        let env = try TestEnvironment()
        defer { env.removeFiles() }
        do {
            let database = try env.openDatabase()
            _ = try await UserRegistry(database: database).register(username: "alice", email: "alice@example.com", passwordHash: "x")
        }
        let url = URL(fileURLWithPath: env.configuration.databasePath)
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: url.path + suffix) }
        var bytes = try Data(contentsOf: url)
        // Keep SQLite's 100-byte header (so it is still recognisably SQLite), damage the schema page after it.
        for index in 100..<1024 { bytes[index] = UInt8(truncatingIfNeeded: index &* 31) }
        try bytes.write(to: url)
        #expect(throws: StoreError.notADatabase) { _ = try SQLiteStore.openFile(atPath: url.path) }
        #expect(try Data(contentsOf: url) == bytes, "never repaired or started empty over it")
    }
}

@Suite("Database faults while running")
struct DatabaseFaultTests {
    @Test("The database file deleted while running: writes get a 503 and an ERROR record, never a lost 302")
    func deletedWhileRunning() async throws {
        let env = try TestEnvironment()
        defer { env.removeFiles() }
        let path = env.configuration.databasePath
        try await env.withApp { client in
            let browser = Browser(client)
            try await browser.signUp("alice")
            let token = try await browser.csrfToken(from: "/index")
            for suffix in ["", "-wal", "-shm"] {
                try? FileManager.default.removeItem(atPath: path + suffix)
            }
            let page = try await browser.post("/index", [("csrf_token", token), ("post", "would vanish")], csrf: false)
            #expect(page.status == .serviceUnavailable)
            #expect(page.headers[.retryAfter] != nil)
            let newcomer = Browser(client)
            #expect(try await newcomer.get("/register").status == .ok, "a signed-out form writes nothing, so it is served")
            let registration = try await newcomer.register("bob")
            #expect(registration.status == .serviceUnavailable, "the registration is not written into the lost file")
            #expect(try await browser.get("/user/alice").status == .ok, "pages that only read still work")
        }
        let errors = env.logs.entries.filter { $0.level == .error }
        #expect(!errors.isEmpty)
        #expect(errors.allSatisfy { "\($0.message)".contains("moved or deleted") })
    }
}
