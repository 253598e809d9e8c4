import Foundation
import Testing
@testable import Microblog

/// The links and avatar URLs every post on a page carries.
@Suite("User links and Gravatar URLs")
struct LinkTests {
    @Test("A user link encodes exactly what is not a letter, a digit or -._~", arguments: [
        ("alice", "/user/alice"),
        ("Al-ice_1.x~", "/user/Al-ice_1.x~"),
        ("a b", "/user/a%20b"),
        ("a/b", "/user/a%2Fb"),
        ("50%", "/user/50%25"),
        ("zoë", "/user/zo%C3%AB"),
        ("a?b#c", "/user/a%3Fb%23c"),
    ])
    func userPath(name: String, path: String) {
        #expect(UserPath.of(name) == path)
    }

    @Test("The avatar is the MD5 of the trimmed, lower-cased address", arguments: [
        "alice@example.com", "Alice@Example.COM", "  alice@example.com", "alice@example.com\n", "\u{3000}alice@example.com\t",
    ])
    func gravatar(email: String) {
        // md5("alice@example.com")
        #expect(Gravatar.url(email: email, size: 36) == "https://www.gravatar.com/avatar/c160f8cc69a4f0bf2b0362752353d060?d=identicon&s=36")
    }
}

/// The "Last seen on" time of profile pages.
@Suite("Last-seen time")
struct LastSeenFormatTests {
    @Test("UTC, to the second below, zero-padded", arguments: [
        (0.0, "1970-01-01 00:00:00 UTC"),
        (1_795_651_199.999, "2026-11-25 23:59:59 UTC"),
        (951_782_400.5, "2000-02-29 00:00:00 UTC"),
        (4_107_542_400.0, "2100-03-01 00:00:00 UTC"),
    ])
    func format(seconds: Double, text: String) {
        #expect(LastSeenFormat.string(from: Date(timeIntervalSince1970: seconds)) == text)
    }
}
