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
            try await database.insertSession(key: "alice", value: value, expiresAt: expiresAt)
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
                try await database.insertSession(key: name, value: value, expiresAt: nil)
                let stored = try #require(try await database.session(key: name), "\(name)")
                #expect(stored.value == value, "\(name)")
                #expect(stored.expiresAt == nil, "\(name)")
                #expect(stored.user == nil, "\(name)")
            }

            let expired = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 - 60).rounded())
            try await database.insertSession(key: "expired", value: value, expiresAt: expired)
            #expect(try await database.session(key: "expired")?.expiresAt == expired, "an expired session is read; its reader decides")
        }
    }
}
