import Foundation

/// What the base layout needs: the title, who is logged in, the CSRF token of the logout form, flashed messages.
package struct LayoutModel: ViewModel {
    var title: String?
    var currentUser: NavUser?
    var csrfToken: String
    var flashes: [String]
    var hasFlashes: Bool

    /// The logged-in user as the navigation bar shows them.
    package struct NavUser: ViewModel {
        var username: String
        var profilePath: String

        /// The memberwise initialiser, written out so that it can be `package` (the benchmarks build this model).
        package init(username: String, profilePath: String) {
            self.username = username
            self.profilePath = profilePath
        }
    }

    /// The layout of a page shown outside the session's middleware (an error of the session store itself): no
    /// user, no forms, the site's default title.
    static let bare = LayoutModel(title: nil, currentUser: nil, csrfToken: "", flashes: [])

    package init(title: String?, currentUser: NavUser?, csrfToken: String, flashes: [String]) {
        self.title = title
        self.currentUser = currentUser
        self.csrfToken = csrfToken
        self.flashes = flashes
        self.hasFlashes = !flashes.isEmpty
    }

    /// The layout for this request: its user, the flashed messages, and the CSRF token of the session's forms (or
    /// `csrfToken`, the signed-out token of the page's form).
    init(title: String?, context: AppRequestContext, csrfToken: String? = nil) {
        self.init(
            title: title,
            currentUser: context.currentUser.map { NavUser(username: $0.username, profilePath: UserPath.of($0.username)) },
            csrfToken: csrfToken ?? context.session.current?.csrfToken ?? "",
            flashes: context.flashes
        )
    }
}

/// One form field as a page shows it: the value to put back and its messages.
package struct FieldModel: ViewModel {
    var value: String
    var errors: [String]

    package init(value: String = "", errors: [String] = []) {
        self.value = value
        self.errors = errors
    }
}

/// A post as listed on a page.
package struct PostModel: ViewModel {
    var body: String
    var authorName: String
    var authorPath: String
    var avatarURL: String

    package init(_ post: PostWithAuthor, avatarURL: String? = nil) {
        body = post.body
        authorName = post.authorName
        authorPath = UserPath.of(post.authorName)
        self.avatarURL = avatarURL ?? Gravatar.url(email: post.authorEmail, size: 36)
    }

    /// A page's posts, each author's avatar URL (an MD5) made once: a profile page is one author's posts.
    package static func list(_ posts: [PostWithAuthor]) -> [PostModel] {
        var avatars: [String: String] = [:]
        return posts.map { post in
            if let avatar = avatars[post.authorEmail] { return PostModel(post, avatarURL: avatar) }
            let model = PostModel(post)
            avatars[post.authorEmail] = model.avatarURL
            return model
        }
    }
}

/// Newer/Older links of a paginated list.
package struct PaginationModel: ViewModel {
    var newerURL: String?
    var olderURL: String?

    package init?(page: Page<PostWithAuthor>, basePath: String) {
        guard page.newer != nil || page.older != nil else { return nil }
        newerURL = page.newer?.url(basePath)
        olderURL = page.older?.url(basePath)
    }
}

/// Links to user pages: the name percent-encoded as one path segment.
enum UserPath {
    /// Letters, digits and `-._~` stay as they are (Foundation encodes every non-ASCII byte all the same).
    private static let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))

    static func of(_ username: String) -> String {
        // Most names are plain ASCII letters and digits: nothing to encode, no Unicode table to consult.
        if username.utf8.allSatisfy(isUnreservedASCII) { return "/user/" + username }
        return "/user/" + (username.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")
    }

    private static func isUnreservedASCII(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            true
        default:
            false
        }
    }
}

