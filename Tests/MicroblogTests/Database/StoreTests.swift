import Foundation
import Testing
@testable import Microblog

/// What every ``Store`` promises, checked on each engine.
@Suite("Store: the same invariants on both engines")
struct StoreTests {
    @Test("The schema enforces the invariants: post lengths and foreign keys", arguments: Backend.all)
    func constraints(_ backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        try await env.withStore { (database) async throws -> Void in
            let registry = UserRegistry(database: database)
            let user = try await registry.register(username: "alice", email: "alice@example.com", passwordHash: "x")
            await #expect(throws: StoreError.self) {
                try await database.createPost(authorID: user.id!, body: String(repeating: "x", count: 141), at: Date())
            }
            await #expect(throws: StoreError.self) {
                try await database.createPost(authorID: 9999, body: "orphan", at: Date())
            }
            try await database.createPost(authorID: user.id!, body: "fine", at: Date())
            let page = try await database.newestPosts(perPage: 10)
            #expect(page.items.map(\.body) == ["fine"])
        }
    }
}
