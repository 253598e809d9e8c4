import Foundation
import MicroblogSimulation
import MustacheReference
import Testing
@testable import Microblog

/// The compiled pages against swift-mustache rendering the same templates with the same models: byte for byte,
/// for every page template, hostile and ordinary values, empty and long lists, and seeded random models.
@Suite("Compiled pages render exactly as swift-mustache renders their templates")
struct CompiledViewTests {
    /// Values that break naive escapers or whitespace handling.
    static let hostile: [String] = [
        "", " ", "plain", "\"\u{301} onmouseover=x", "'\u{301}", "<script>alert(1)</script>", "a\0b", "\0",
        "&amp; &lt;", "שלום עולם", "\u{202E}txet desrever", "مرحبا", "👩‍👩‍👧 🇫🇷 👍🏽", "e\u{301}\u{302}", "\n",
        "line one\nline two", "ends with newline\n", "\r\n", "crlf\r\n", "\t tab", "{{layout.title}}", "}}{{",
        String(repeating: "long ", count: 200), "\"'<>&", "\u{FEFF}bom", "\u{2028}sep",
    ]

    /// Every page template with a model drawn from `random`.
    static func pages(_ random: inout SeededRandom) -> [(template: String, view: any CompiledView)] {
        let layout = random.layout()
        return [
            ("login", LoginPage(
                layout: layout,
                form: .init(username: random.field(), password: random.field()),
                rememberMe: random.bool(),
                formErrors: random.strings()
            )),
            ("register", RegisterPage(
                layout: layout,
                form: .init(username: random.field(), email: random.field(), password: random.field(), password2: random.field())
            )),
            ("index", IndexPage(layout: layout, form: .init(post: random.field()), posts: random.posts(), pagination: random.pagination())),
            ("user", UserPage(
                layout: layout, profile: random.profile(), isOwnProfile: random.bool(), posts: random.posts(),
                pagination: random.pagination()
            )),
            ("edit_profile", EditProfilePage(layout: layout, form: .init(username: random.field(), aboutMe: random.field()))),
            ("errors/404", NotFoundPage(layout: layout)),
            ("errors/500", ServerErrorPage(layout: layout, correlationID: random.string())),
            ("errors/status", StatusPage(layout: layout, heading: random.string(), message: random.string())),
            ("errors/debug", DebugPage(
                layout: layout, errorType: random.string(), message: random.string(), chain: random.strings(),
                location: random.optional(), method: random.string(), path: random.string(),
                headers: (0..<random.count()).map { _ in .init(name: random.string(), value: random.string()) },
                correlationID: random.string()
            )),
        ]
    }

    @Test("Seeded random models, 300 of each page, with hostile values")
    func randomModels() async throws {
        let reference = try await MustacheReference.load()
        var random = SeededRandom(seed: 0x5EED_0F_7E57)
        var compared = 0
        for _ in 0..<300 {
            for (template, view) in Self.pages(&random) {
                let expected = try #require(reference.render(template, view))
                let compiled = view.html
                #expect(compiled == expected, "\(template): first difference at \(Self.firstDifference(compiled, expected))")
                if compiled != expected { return }
                compared += 1
            }
        }
        #expect(compared == 300 * 9)
    }

    @Test("Empty lists, one item, and 1,000 items; every optional absent and present")
    func listSizes() async throws {
        let reference = try await MustacheReference.load()
        for size in [0, 1, 1000] {
            for present in [false, true] {
                var random = SeededRandom(seed: UInt64(size) &+ (present ? 1 : 0))
                let post = random.post()
                let posts = Array(repeating: post, count: size)
                let strings = (0..<size).map { "item \($0) \"<&>'" }
                let layout = LayoutModel(
                    title: present ? "T" : nil, currentUser: present ? .init(username: "u", profilePath: "/user/u") : nil,
                    csrfToken: "c", flashes: strings
                )
                let field = FieldModel(value: "v", errors: strings)
                let views: [(String, any CompiledView)] = [
                    ("index", IndexPage(layout: layout, form: .init(post: field), posts: posts, pagination: present ? random.pagination() : nil)),
                    ("user", UserPage(
                        layout: layout, profile: random.profile(), isOwnProfile: present, posts: posts,
                        pagination: present ? random.pagination() : nil
                    )),
                    ("login", LoginPage(layout: layout, form: .init(username: field, password: field), rememberMe: present, formErrors: strings)),
                    ("errors/debug", DebugPage(
                        layout: layout, errorType: "E", message: "m", chain: strings, location: present ? "here" : nil,
                        method: "GET", path: "/", headers: strings.map { .init(name: $0, value: $0) }, correlationID: "r"
                    )),
                ]
                for (template, view) in views {
                    let expected = try #require(reference.render(template, view))
                    #expect(view.html == expected, "\(template), \(size) items, optionals \(present)")
                }
            }
        }
    }

    @Test("Each hostile value in every field of the user page", arguments: hostile)
    func hostileValue(_ value: String) async throws {
        let reference = try await MustacheReference.load()
        let field = FieldModel(value: value, errors: [value, value])
        let layout = LayoutModel(title: value, currentUser: .init(username: value, profilePath: value), csrfToken: value, flashes: [value])
        var random = SeededRandom(seed: 1)
        var post = random.post()
        post.body = value
        post.authorName = value
        post.authorPath = value
        post.avatarURL = value
        var profile = random.profile()
        profile.username = value
        profile.aboutMe = value
        profile.lastSeen = value
        profile.avatarURL = value
        var pagination: PaginationModel? = PaginationModel(
            page: Microblog.Page<PostWithAuthor>(items: [], newer: .newerThan(postID: 7), older: .olderThan(postID: 5)), basePath: "/index"
        )
        pagination?.newerURL = value
        pagination?.olderURL = value
        let views: [(String, any CompiledView)] = [
            ("user", UserPage(layout: layout, profile: profile, isOwnProfile: true, posts: [post, post], pagination: pagination)),
            ("index", IndexPage(layout: layout, form: .init(post: field), posts: [post], pagination: pagination)),
            ("edit_profile", EditProfilePage(layout: layout, form: .init(username: field, aboutMe: field))),
            ("errors/status", StatusPage(layout: layout, heading: value, message: value)),
        ]
        for (template, view) in views {
            let expected = try #require(reference.render(template, view))
            #expect(view.html == expected, "\(template) with \(value.debugDescription)")
        }
    }

    static func firstDifference(_ a: String, _ b: String) -> String {
        let a = Array(a.utf8), b = Array(b.utf8)
        let index = (0..<min(a.count, b.count)).first { a[$0] != b[$0] } ?? min(a.count, b.count)
        let context = { (bytes: [UInt8]) in String(decoding: bytes[max(0, index - 40)..<min(bytes.count, index + 40)], as: UTF8.self).debugDescription }
        return "byte \(index): compiled \(context(a)) vs reference \(context(b))"
    }
}

/// Random page models from a seed (the simulation's SplitMix64), so a failing model can be made again from its seed.
struct SeededRandom {
    private var random: SimulationRandom

    init(seed: UInt64) { random = SimulationRandom(seed: seed) }

    mutating func next() -> UInt64 { random.next() }

    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
    mutating func bool() -> Bool { next() & 1 == 1 }
    mutating func count() -> Int { [0, 0, 1, 2, 3, 5, 20][below(7)] }

    /// A hostile value, a random mix of them, or random scalars.
    mutating func string() -> String {
        switch below(4) {
        case 0, 1: return CompiledViewTests.hostile[below(CompiledViewTests.hostile.count)]
        case 2: return (0..<below(4)).map { _ in CompiledViewTests.hostile[below(CompiledViewTests.hostile.count)] }.joined()
        default:
            let scalars: [Unicode.Scalar] = ["a", " ", "\n", "\"", "'", "<", ">", "&", "\u{301}", "é", "\u{0}", "\u{202E}", "🙂", "\r"]
            return String(String.UnicodeScalarView((0..<below(12)).map { _ in scalars[below(scalars.count)] }))
        }
    }

    mutating func optional() -> String? { bool() ? string() : nil }
    mutating func strings() -> [String] { (0..<count()).map { _ in string() } }
    mutating func field() -> FieldModel { FieldModel(value: string(), errors: strings()) }

    mutating func layout() -> LayoutModel {
        LayoutModel(
            title: optional(),
            currentUser: bool() ? .init(username: string(), profilePath: string()) : nil,
            csrfToken: string(),
            flashes: strings()
        )
    }

    mutating func post() -> PostModel {
        var post = PostModel(PostWithAuthor(id: 1, body: "b", authorName: "a", authorEmail: "a@example.com"))
        post.body = string()
        post.authorName = string()
        post.authorPath = string()
        post.avatarURL = string()
        return post
    }

    mutating func posts() -> [PostModel] { (0..<count()).map { _ in post() } }

    mutating func profile() -> UserPage.Profile {
        let user = User(
            id: 1, username: "u", usernameKey: "u", email: "u@example.com", emailKey: "u@example.com",
            passwordHash: "x", aboutMe: nil, lastSeen: Date()
        )
        var profile = UserPage.Profile(user)
        profile.username = string()
        profile.aboutMe = optional()
        profile.lastSeen = optional()
        profile.avatarURL = string()
        return profile
    }

    mutating func pagination() -> PaginationModel? {
        guard bool() else { return nil }
        var pagination = PaginationModel(page: Microblog.Page<PostWithAuthor>(items: [], newer: .newerThan(postID: 7), older: .olderThan(postID: 5)), basePath: "/index")
        pagination?.newerURL = optional()
        pagination?.olderURL = optional()
        return pagination
    }
}
