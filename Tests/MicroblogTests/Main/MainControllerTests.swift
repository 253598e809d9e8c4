import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
@testable import Microblog

@Suite("Home feed, posts, profiles and the profile editor")
struct MainControllerTests {
    @Test("A post appears on /index and on the author's page, newest first, with 36 px avatars", arguments: Backend.all)
    func postAndFeed(backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        try await env.withApp { client in
            let browser = Browser(client)
            try await browser.signUp("alice")
            let first = try await browser.post("/index", [("post", "first post"), ("submit", "Submit")])
            #expect(first.status == .found)
            #expect(first.location == "/index")
            try await browser.post("/", [("post", "second post")], tokenFrom: "/index")
            let home = try await browser.get("/index")
            #expect(home.contains("Your post is now live!"))
            let firstIndex = try #require(home.body.range(of: "first post"))
            let secondIndex = try #require(home.body.range(of: "second post"))
            #expect(secondIndex.lowerBound < firstIndex.lowerBound, "newest first")
            let md5 = "c160f8cc69a4f0bf2b0362752353d060" // md5("alice@example.com")
            #expect(home.contains("https://www.gravatar.com/avatar/\(md5)?d=identicon&amp;s=36"))
            let profile = try await browser.get("/user/alice")
            #expect(profile.contains("second post"))
            #expect(profile.contains("https://www.gravatar.com/avatar/\(md5)?d=identicon&amp;s=128"))
            #expect(try await browser.get("/").contains("Hi, alice!"))
        }
    }

    @Test("A post must be 1 to 140 characters", arguments: Backend.all, ["", "   ", String(repeating: "x", count: 141)])
    func postValidation(backend: Backend, text: String) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        try await env.withApp { client in
            let browser = Browser(client)
            try await browser.signUp("alice")
            let page = try await browser.post("/index", [("post", text)])
            #expect(page.status == .ok)
            #expect(page.contains("This field is required.") || page.contains("Field must be between 1 and 140 characters long."))
        }
    }

    @Test("140 characters counted as Unicode scalars are accepted", arguments: Backend.all)
    func postAtLimit(backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        try await env.withApp { client in
            let browser = Browser(client)
            try await browser.signUp("alice")
            let page = try await browser.post("/index", [("post", String(repeating: "é", count: 140))])
            #expect(page.status == .found)
        }
    }

    /// The `href` of a page's "Older posts" or "Newer posts" link.
    static func link(_ label: String, in page: Page) -> String? {
        guard let end = page.body.range(of: "\">\(label)</a>") else { return nil }
        let before = page.body[..<end.lowerBound]
        guard let start = before.range(of: "href=\"", options: .backwards) else { return nil }
        return String(before[start.upperBound...]).replacingOccurrences(of: "&amp;", with: "&")
    }

    @Test("The feed is paged by cursor, Older and Newer links; a hostile cursor is a 400 page; an old ?page=N link is redirected", arguments: Backend.all)
    func pagination(backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        try await env.withApp { client in
            let browser = Browser(client)
            try await browser.signUp("alice")
            for number in 1...7 {
                try await browser.post("/index", [("post", "post number \(number)")])
            }
            let first = try await browser.get("/index")
            #expect(first.contains("post number 7") && first.contains("post number 5") && !first.contains("post number 4"))
            #expect(!first.contains("Newer posts"))
            let older = try #require(Self.link("Older posts", in: first))
            #expect(older.hasPrefix("/index?older="), "\(older)")
            let second = try await browser.get(older)
            #expect(second.contains("post number 4") && second.contains("post number 2") && !second.contains("post number 5"))
            let third = try await browser.get(try #require(Self.link("Older posts", in: second)))
            #expect(third.contains("post number 1") && !third.contains("Older posts"))
            let back = try await browser.get(try #require(Self.link("Newer posts", in: second)))
            #expect(back.contains("post number 7") && back.contains("post number 5") && !back.contains("post number 4"))

            let profile = try await browser.get("/user/alice")
            let profileOlder = try #require(Self.link("Older posts", in: profile))
            #expect(profileOlder.hasPrefix("/user/alice?older="))
            #expect(try await browser.get(profileOlder).contains("post number 4"))

            // An old page-number link goes to the same page by cursor; past the bound it is refused.
            let redirected = try await browser.get("/index?page=2")
            #expect(redirected.status == .found && redirected.location == older, "\(redirected.status) \(redirected.location ?? "")")
            #expect(try await browser.get("/index?page=abc").contains("post number 7"))
            #expect(try await browser.get("/index?page=\(FeedQuery.maximumOldPage + 1)").status == .badRequest)

            let bob = Browser(client)
            try await bob.signUp("bob")
            let cursor = older.dropFirst("/index?older=".count)
            let hostile = [
                "/index?older=abc", "/index?older=-1", "/index?older=0", "/index?older=", "/index?newer=99999999999999999999",
                "/index?older=1%27%20OR%201%3D1--", "/index?older=\(cursor)&newer=\(cursor)", "/index?older=987654321",
                "/user/bob?older=\(cursor)",
            ]
            for path in hostile {
                let page = try await bob.get(path)
                #expect(page.status == .badRequest, "\(path): \(page.status)")
                #expect(page.contains("Bad Request"), "\(path): the site's 400 page")
            }
        }
    }

    @Test("A profile shows avatar, about me, last seen, and the edit link only on one's own page", arguments: Backend.all)
    func profile(backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        try await env.withApp { client in
            let alice = Browser(client)
            try await alice.signUp("alice")
            let bob = Browser(client)
            try await bob.signUp("bob")
            try await alice.post("/edit_profile", [("username", "alice"), ("about_me", "I write Swift.")])
            let own = try await alice.get("/user/alice")
            #expect(own.contains("User: alice"))
            #expect(own.contains("I write Swift."))
            #expect(own.contains("Last seen on: "))
            #expect(own.contains("Edit your profile"))
            let other = try await bob.get("/user/ALICE")
            #expect(other.status == .ok)
            #expect(other.contains("User: alice"))
            #expect(!other.contains("Edit your profile"))
        }
    }

    @Test("An unknown user, an encoded slash, NUL and a 10 KB name are the 404 page", arguments: Backend.all, [
        "/user/nobody", "/user/a%2Fb", "/user/%00", "/user/" + String(repeating: "a", count: 10_000), "/user/%zz",
    ])
    func unknownUser(backend: Backend, path: String) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        try await env.withApp { client in
            let browser = Browser(client)
            try await browser.signUp("alice")
            let page = try await browser.get(path)
            #expect(page.status == .notFound)
            #expect(page.contains("File Not Found"))
            #expect(page.contains("Logout"), "the 404 page is in the site layout")
        }
    }

    @Test("Non-ASCII names: links built by the site find the user", arguments: Backend.all)
    func nonASCIIName(backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        try await env.withApp { client in
            let browser = Browser(client)
            try await browser.signUp("zoë")
            try await browser.post("/index", [("post", "hallo")])
            let home = try await browser.get("/index")
            let link = UserPath.of("zoë")
            #expect(link == "/user/zo%C3%AB")
            #expect(home.contains("href=\"\(link)\""))
            let profile = try await browser.get(link)
            #expect(profile.status == .ok)
            #expect(profile.contains("User: zoë"))
        }
    }

    @Test("The profile editor pre-fills, saves, and keeps one's own name in another case", arguments: Backend.all)
    func editProfile(backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        try await env.withApp { client in
            let browser = Browser(client)
            try await browser.signUp("alice")
            let form = try await browser.get("/edit_profile")
            #expect(form.inputValue(named: "username") == "alice")
            let saved = try await browser.post("/edit_profile", [("username", "Alice"), ("about_me", "hello")])
            #expect(saved.status == .found)
            let after = try await browser.get("/edit_profile")
            #expect(after.contains("Your changes have been saved."))
            #expect(after.inputValue(named: "username") == "Alice")
            #expect(after.contains(">hello</textarea>"))
            let long = try await browser.post("/edit_profile", [("username", "Alice"), ("about_me", String(repeating: "x", count: 141))])
            #expect(long.status == .ok)
            #expect(long.contains("Field cannot be longer than 140 characters."))
        }
    }

    @Test(
        "Renaming to another user's name is refused with the form error, shown beside any other; one's own name in another spelling is free",
        arguments: Backend.all
    )
    func renameTaken(backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        try await env.withApp { client in
            let alice = Browser(client)
            try await alice.signUp("alice")
            let bob = Browser(client)
            try await bob.signUp("bob")
            let page = try await bob.post("/edit_profile", [("username", "ＡＬＩＣＥ"), ("about_me", "")])
            #expect(page.status == .ok)
            #expect(page.contains("Please use a different username."))
            let both = try await bob.post("/edit_profile", [("username", "Alice"), ("about_me", String(repeating: "x", count: 141))])
            #expect(both.status == .ok)
            #expect(both.contains("Please use a different username."))
            #expect(both.contains("Field cannot be longer than 140 characters."))
            let respelled = try await bob.post("/edit_profile", [("username", "BOB"), ("about_me", "")])
            #expect(respelled.status == .found)
        }
    }

    @Test("last_seen is written at most once a minute", arguments: Backend.all)
    func lastSeenThrottled(backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        try await env.withStore { database async throws in
            try await env.withApp { client in
                let browser = Browser(client)
                try await browser.signUp("alice")
                let user = try #require(try await database.user(usernameKey: IdentityKey("alice")))
                let old = Date(timeIntervalSinceNow: -3600)
                try await database.touchLastSeen(userID: user.id!, at: old)
                _ = try await browser.get("/index")
                let seen = try #require(try await database.user(id: user.id!)).lastSeen
                #expect(seen.timeIntervalSinceNow > -60, "a stale last_seen is refreshed")
                _ = try await browser.get("/index")
                let again = try #require(try await database.user(id: user.id!)).lastSeen
                #expect(again == seen, "and not rewritten within the minute")
            }
        }
    }

    @Test("Pages carry the security headers", arguments: Backend.all)
    func securityHeaders(backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        try await env.withApp { client in
            let page = try await Browser(client).get("/login")
            let csp = try #require(page.headers[.contentSecurityPolicy])
            #expect(csp.contains("img-src 'self' https://www.gravatar.com"))
            #expect(page.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
            #expect(page.headers[HTTPField.Name("Referrer-Policy")!] != nil)
        }
    }
}
