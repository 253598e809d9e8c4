import Foundation
import Testing
@testable import Microblog

@Suite("AppDatabase")
struct AppDatabaseTests {
    @Test("A file that is not a database is refused with a clear message and left untouched")
    func notADatabase() throws {
        let env = try TestEnvironment()
        defer { env.removeFiles() }
        let garbage = Data("this is not an SQLite database, it is someone's notes\n".utf8) + Data(repeating: 0x41, count: 4096)
        try garbage.write(to: URL(fileURLWithPath: env.configuration.databasePath))
        #expect(throws: StoreError.notADatabase) { _ = try AppDatabase.openFile(atPath: env.configuration.databasePath) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: env.configuration.databasePath)) == garbage, "never started empty over it")
        #expect(StoreError.notADatabase.description.contains("not a microblog SQLite database"))
    }

    @Test("The schema enforces the invariants: unique keys, lengths, foreign keys")
    func constraints() async throws {
        let env = try TestEnvironment()
        defer { env.removeFiles() }
        let database = try env.openDatabase()
        let registry = UserRegistry(database: database)
        let user = try await registry.register(username: "alice", email: "alice@example.com", passwordHash: "x")
        await #expect(throws: StoreError.self) {
            try await database.createPost(authorID: user.id!, body: String(repeating: "x", count: 141), at: Date())
        }
        await #expect(throws: StoreError.self) {
            try await database.createPost(authorID: 9999, body: "orphan", at: Date())
        }
        try await database.createPost(authorID: user.id!, body: "fine", at: Date())
        let page = try await database.posts(page: 1, perPage: 10)
        #expect(page.items.map(\.body) == ["fine"])
    }
}
