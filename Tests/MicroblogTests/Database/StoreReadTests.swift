import Foundation
import Testing
@testable import Microblog

/// The reads that serve a page in one call each, checked on each engine.
@Suite("Store: a session with its user, a profile with its posts")
struct StoreReadTests {
    @Test("session(key:) reads the session with the user its value names; none for a missing user or a value that is not a session", arguments: Backend.all)
    func sessionWithUser(_ backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        try await env.withStore { (database) async throws -> Void in
            let alice = try await UserRegistry(database: database).register(username: "alice", email: "alice@example.com", passwordHash: "x")
            let expiresAt = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 + 3600).rounded())
            let value = try JSONEncoder().encode(SessionState(userID: alice.id!))
            try await database.insertSession(key: "alice", value: value, userID: alice.id, expiresAt: expiresAt)
            let stored = try #require(try await database.session(key: "alice"))
            #expect(stored.value == value)
            #expect(stored.expiresAt == expiresAt)
            #expect(stored.user?.id == alice.id)
            #expect(stored.user?.username == "alice" && stored.user?.email == "alice@example.com")

            #expect(try await database.session(key: "nobody") == nil)

            let values: [(String, Data)] = [
                ("a user that does not exist", try JSONEncoder().encode(SessionState(userID: alice.id! + 1000))),
                ("not JSON", Data([0xFF, 0x00, 0x5C, 0x22])),
                ("JSON without a user", Data(#"{"csrfToken":"t"}"#.utf8)),
                ("a user id past 64 bits", Data(#"{"userID":1234567890123456789012345,"csrfToken":"t"}"#.utf8)),
            ]
            for (name, value) in values {
                try await database.insertSession(key: name, value: value, userID: nil, expiresAt: nil)
                let stored = try #require(try await database.session(key: name), "\(name)")
                #expect(stored.value == value, "\(name)")
                #expect(stored.expiresAt == nil, "\(name)")
                #expect(stored.user == nil, "\(name)")
            }

            let expired = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 - 60).rounded())
            try await database.insertSession(key: "expired", value: value, userID: alice.id, expiresAt: expired)
            #expect(try await database.session(key: "expired")?.expiresAt == expired, "an expired session is read; its reader decides")
        }
    }

    @Test("userPage(usernameKey:page:perPage:) is the user with a page of their posts, paged as posts(byAuthor:) pages them; nil for an unknown name", arguments: Backend.all)
    func userPage(_ backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        try await env.withStore { (database) async throws -> Void in
            let registry = UserRegistry(database: database)
            let alice = try await registry.register(username: "Alice", email: "alice@example.com", passwordHash: "x")
            let bob = try await registry.register(username: "bob", email: "bob@example.com", passwordHash: "x")
            let carol = try await registry.register(username: "carol", email: "carol@example.com", passwordHash: "x")
            let start = Date(timeIntervalSince1970: 1_700_000_000)
            // Two posts at the same instant: the later id is the newer.
            for (n, offset) in [0, 10, 10, 20, 30].enumerated() {
                try await database.createPost(authorID: alice.id!, body: "alice \(n)", at: start + TimeInterval(offset))
            }
            try await database.createPost(authorID: bob.id!, body: "bob", at: start + 15)

            for number in 0...4 {
                let page = try #require(try await database.userPage(usernameKey: IdentityKey("alice"), page: number, perPage: 2))
                let expected = try await database.posts(byAuthor: alice.id!, page: number, perPage: 2)
                #expect(page.user.id == alice.id, "page \(number)")
                #expect(page.user.username == "Alice")
                #expect(page.posts.items == expected.items, "page \(number)")
                #expect(page.posts.items.allSatisfy { $0.authorName == "Alice" && $0.authorEmail == "alice@example.com" })
                #expect(page.posts.number == expected.number)
                #expect(page.posts.hasNewer == expected.hasNewer)
                #expect(page.posts.hasOlder == expected.hasOlder, "page \(number)")
            }
            let first = try #require(try await database.userPage(usernameKey: IdentityKey("alice"), page: 1, perPage: 2))
            #expect(first.posts.items.map(\.body) == ["alice 4", "alice 3"])
            #expect(first.posts.hasOlder && !first.posts.hasNewer)
            let second = try #require(try await database.userPage(usernameKey: IdentityKey("ALICE"), page: 2, perPage: 2))
            #expect(second.posts.items.map(\.body) == ["alice 2", "alice 1"], "same instant: the later post first")
            let last = try #require(try await database.userPage(usernameKey: IdentityKey("alice"), page: 3, perPage: 2))
            #expect(last.posts.items.map(\.body) == ["alice 0"])
            #expect(!last.posts.hasOlder && last.posts.hasNewer)
            let past = try #require(try await database.userPage(usernameKey: IdentityKey("alice"), page: 9, perPage: 2))
            #expect(past.posts.items.isEmpty && past.user.id == alice.id, "past the last page: the user, no posts")

            let withoutPosts = try #require(try await database.userPage(usernameKey: IdentityKey("carol"), page: 1, perPage: 2))
            #expect(withoutPosts.user.id == carol.id && withoutPosts.posts.items.isEmpty && !withoutPosts.posts.hasOlder)
            #expect(try await database.userPage(usernameKey: IdentityKey("bob"), page: 1, perPage: 2)?.posts.items.map(\.body) == ["bob"])
            #expect(try await database.userPage(usernameKey: IdentityKey("nobody"), page: 1, perPage: 2) == nil)
        }
    }
}
