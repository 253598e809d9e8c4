import Foundation
import HummingbirdTesting
import Testing
@testable import Microblog

@Suite("The logged-in user, read with the session")
struct SessionUserTests {
    @Test("A session whose user was deleted is cleared: the page is the login redirect and the session row is deleted", arguments: Backend.all)
    func deletedUser(backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        try await env.withStore { store in
            try await env.withApp { client in
                let browser = Browser(client)
                try await browser.signUp("alice")
                #expect(try await browser.get("/index").contains("Hi, alice!"))
                let alice = try #require(try await store.user(usernameKey: IdentityKey("alice")))
                // A session row that does not name its user (as rows stored before sessions did): the user's deletion
                // leaves it behind, and the session middleware must clear it.
                try await StoreBackdoor.execute(
                    store, sqlite: "UPDATE session SET user_id = NULL", postgres: "UPDATE session SET user_id = NULL"
                )
                try await StoreBackdoor.execute(
                    store,
                    sqlite: "DELETE FROM user WHERE id = ?",
                    arguments: [alice.id!],
                    postgres: #"DELETE FROM "user" WHERE id = \#(alice.id!)"#
                )
                let page = try await browser.get("/index")
                #expect(page.status == .found)
                #expect(page.location == "/login?next=/index")
                #expect(page.headers[values: .setCookie].contains { $0.hasPrefix("session=") }, "the session cookie is replaced")
                #expect(try await StoreBackdoor.rowCounts(store)["session"] == 0)

                // A session row that names its user goes with the user, in the database.
                let bob = Browser(client)
                try await bob.signUp("bob")
                let bobID = try #require(try await store.user(usernameKey: IdentityKey("bob"))?.id)
                #expect(try await StoreBackdoor.rowCounts(store)["session"] == 1)
                try await StoreBackdoor.execute(
                    store, sqlite: "DELETE FROM user WHERE id = ?", arguments: [bobID], postgres: #"DELETE FROM "user" WHERE id = \#(bobID)"#
                )
                #expect(try await StoreBackdoor.rowCounts(store)["session"] == 0)
                #expect(try await bob.get("/index").location == "/login?next=/index")
            }
        }
    }

    @Test("An expired session is a signed-out request", arguments: Backend.all)
    func expiredSession(backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        try await env.withStore { store in
            try await env.withApp { client in
                let browser = Browser(client)
                try await browser.signUp("alice")
                #expect(try await browser.get("/index").contains("Hi, alice!"))
                try await StoreBackdoor.execute(
                    store,
                    sqlite: "UPDATE session SET expires_at = ?",
                    arguments: [Date().timeIntervalSince1970 - 1],
                    postgres: "UPDATE session SET expires_at = now() - interval '1 second'"
                )
                let page = try await browser.get("/index")
                #expect(page.status == .found)
                #expect(page.location == "/login?next=/index")
            }
        }
    }
}
