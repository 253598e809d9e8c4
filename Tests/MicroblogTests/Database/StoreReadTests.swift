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
            try await database.saveSession(key: "alice", value: value, userID: alice.id, expiresAt: expiresAt, now: Date(), sessionsPerUser: 20)
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
                try await database.saveSession(key: name, value: value, userID: nil, expiresAt: nil, now: Date(), sessionsPerUser: 20)
                let stored = try #require(try await database.session(key: name), "\(name)")
                #expect(stored.value == value, "\(name)")
                #expect(stored.expiresAt == nil, "\(name)")
                #expect(stored.user == nil, "\(name)")
            }

            let expired = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 - 60).rounded())
            // Saved as of before its expiry, so that the save's sweep of expired sessions leaves it.
            try await database.saveSession(
                key: "expired", value: value, userID: alice.id, expiresAt: expired, now: expired.addingTimeInterval(-1), sessionsPerUser: 20
            )
            #expect(try await database.session(key: "expired")?.expiresAt == expired, "an expired session is read; its reader decides")
        }
    }

    /// Follows a feed's Older links from its newest page to its last, then its Newer links back; returns the bodies
    /// in the order the pages showed them, both ways (the walk back reassembled newest first).
    static func walk(
        _ fetch: (PagePosition) async throws -> Microblog.Page<PostWithAuthor>?
    ) async throws -> (forward: [String], backward: [String]) {
        var forward: [String] = []
        var position = PagePosition.newest
        var last: Microblog.Page<PostWithAuthor>?
        for _ in 0..<100 {
            let page = try #require(try await fetch(position))
            forward += page.items.map(\.body)
            last = page
            guard let older = page.older else { break }
            position = older
        }
        var backward: [[String]] = [try #require(last).items.map(\.body)]
        var newer = last?.newer
        for _ in 0..<100 {
            guard let at = newer else { break }
            let page = try #require(try await fetch(at))
            backward.insert(page.items.map(\.body), at: 0)
            newer = page.newer
        }
        return (forward, backward.flatMap { $0 })
    }

    @Test("Keyset paging: a feed and a profile walked by Older links and back by Newer show every post once (same instants included); posts added between loads shift nothing; a user without posts; a cursor of another feed or no post is nil", arguments: Backend.all)
    func keysetPaging(_ backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        try await env.withStore { (database) async throws -> Void in
            let registry = UserRegistry(database: database)
            let alice = try await registry.register(username: "Alice", email: "alice@example.com", passwordHash: "x")
            let bob = try await registry.register(username: "bob", email: "bob@example.com", passwordHash: "x")
            let carol = try await registry.register(username: "carol", email: "carol@example.com", passwordHash: "x")
            let start = Date(timeIntervalSince1970: 1_700_000_000)
            // Runs of posts at the same instant, across page boundaries: the later id is the newer.
            let aliceOffsets = [0, 10, 10, 10, 10, 20, 30]
            for (n, offset) in aliceOffsets.enumerated() {
                try await database.createPost(authorID: alice.id!, body: "alice \(n)", at: start + TimeInterval(offset))
            }
            for n in 0..<3 { try await database.createPost(authorID: bob.id!, body: "bob \(n)", at: start + 10) }
            let aliceNewestFirst = (0..<7).reversed().map { "alice \($0)" }
            // bob's posts came after alice's at the same instant (10): newer than hers at 10, older than hers at 20.
            let everyoneNewestFirst = ["alice 6", "alice 5", "bob 2", "bob 1", "bob 0", "alice 4", "alice 3", "alice 2", "alice 1", "alice 0"]

            for perPage in [1, 2, 3, 10, 11] {
                let feed = try await Self.walk { try await database.posts(at: $0, perPage: perPage) }
                #expect(feed.forward == everyoneNewestFirst, "feed, \(perPage) a page")
                #expect(feed.backward == everyoneNewestFirst, "feed back, \(perPage) a page")
                let profile = try await Self.walk { try await database.userPage(usernameKey: IdentityKey("ALICE"), at: $0, perPage: perPage)?.posts }
                #expect(profile.forward == aliceNewestFirst, "profile, \(perPage) a page")
                #expect(profile.backward == aliceNewestFirst, "profile back, \(perPage) a page")
                let byAuthor = try await Self.walk { try await database.posts(byAuthor: alice.id!, at: $0, perPage: perPage) }
                #expect(byAuthor.forward == aliceNewestFirst)
            }

            // A post added after the first page was read: the next page goes on where the first stopped.
            let first = try #require(try await database.posts(at: .newest, perPage: 4))
            try await database.createPost(authorID: bob.id!, body: "bob late", at: start + 40)
            let firstOlder = try #require(first.older)
            let second = try #require(try await database.posts(at: firstOlder, perPage: 4))
            #expect((first.items + second.items).map(\.body) == Array(everyoneNewestFirst.prefix(8)))
            let secondNewer = try #require(second.newer)
            #expect(try await database.posts(at: secondNewer, perPage: 4)?.items.map(\.body) == first.items.map(\.body))

            let withoutPosts = try #require(try await database.userPage(usernameKey: IdentityKey("carol"), at: .newest, perPage: 2))
            #expect(withoutPosts.user.id == carol.id && withoutPosts.posts?.items.isEmpty == true)
            #expect(withoutPosts.posts?.older == nil && withoutPosts.posts?.newer == nil)
            #expect(try await database.userPage(usernameKey: IdentityKey("nobody"), at: .newest, perPage: 2) == nil)

            // Cursors that lead nowhere in this feed: another user's post, no post at all.
            let bobsPost = try #require(try await database.newestPosts(byAuthor: bob.id!, perPage: 1).items.first).id
            let onAlice = try #require(try await database.userPage(usernameKey: IdentityKey("alice"), at: .olderThan(postID: bobsPost), perPage: 2))
            #expect(onAlice.user.id == alice.id && onAlice.posts == nil, "another user's cursor on a profile")
            #expect(try await database.posts(byAuthor: alice.id!, at: .newerThan(postID: bobsPost), perPage: 2) == nil)
            #expect(try await database.posts(at: .olderThan(postID: 987_654_321), perPage: 2) == nil)
            #expect(try await database.posts(at: .olderThan(postID: Int64.max), perPage: 2) == nil)

            // An old ?page=N link's first post.
            let third = try #require(try await database.postID(byAuthor: alice.id!, offset: 2))
            #expect(try await database.posts(byAuthor: alice.id!, at: .olderThan(postID: third), perPage: 2)?.items.map(\.body) == ["alice 3", "alice 2"])
            #expect(try await database.postID(byAuthor: alice.id!, offset: 7) == nil)
        }
    }
}
