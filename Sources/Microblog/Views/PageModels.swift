import Foundation

// The page models: one per page template (`Views/Templates`, which names its model in a `{{! model: Type }}`
// comment), each rendered by the `render(into:)` compiled from that template. Every name a template uses is a
// stored property here, which is also how swift-mustache, the reference the tests compare with, finds it.

struct LoginPage: Sendable {
    struct Form: ViewModel {
        var username: FieldModel
        var password: FieldModel
    }
    var layout: LayoutModel
    var form: Form
    var rememberMe: Bool
    var formErrors: [String]
}

struct RegisterPage: Sendable {
    struct Form: ViewModel {
        var username: FieldModel
        var email: FieldModel
        var password: FieldModel
        var password2: FieldModel
    }
    var layout: LayoutModel
    var form: Form
}

package struct IndexPage: Sendable {
    package struct Form: ViewModel {
        var post: FieldModel

        /// The memberwise initialiser, written out so that it can be `package` (the benchmarks build this model).
        package init(post: FieldModel) {
            self.post = post
        }
    }
    var layout: LayoutModel
    var form: Form
    var posts: [PostModel]
    var pagination: PaginationModel?

    /// The memberwise initialiser, written out so that it can be `package` (the benchmarks build this model).
    package init(layout: LayoutModel, form: Form, posts: [PostModel], pagination: PaginationModel?) {
        self.layout = layout
        self.form = form
        self.posts = posts
        self.pagination = pagination
    }
}

package struct UserPage: Sendable {
    package struct Profile: ViewModel {
        var username: String
        var aboutMe: String?
        var lastSeen: String?
        var avatarURL: String

        package init(_ user: User) {
            username = user.username
            aboutMe = user.aboutMe
            lastSeen = LastSeenFormat.string(from: user.lastSeen)
            avatarURL = Gravatar.url(email: user.email, size: 128)
        }
    }
    var layout: LayoutModel
    var profile: Profile
    var isOwnProfile: Bool
    var posts: [PostModel]
    var pagination: PaginationModel?

    /// The memberwise initialiser, written out so that it can be `package` (the benchmarks build this model).
    package init(layout: LayoutModel, profile: Profile, isOwnProfile: Bool, posts: [PostModel], pagination: PaginationModel?) {
        self.layout = layout
        self.profile = profile
        self.isOwnProfile = isOwnProfile
        self.posts = posts
        self.pagination = pagination
    }
}

struct EditProfilePage: Sendable {
    struct Form: ViewModel {
        var username: FieldModel
        var aboutMe: FieldModel
    }
    var layout: LayoutModel
    var form: Form
}

struct NotFoundPage: Sendable {
    var layout: LayoutModel
}

struct ServerErrorPage: Sendable {
    var layout: LayoutModel
    var correlationID: String
}

struct StatusPage: Sendable {
    var layout: LayoutModel
    var heading: String
    var message: String
}

struct DebugPage: Sendable {
    struct Header: ViewModel {
        var name: String
        var value: String
    }
    var layout: LayoutModel
    var errorType: String
    var message: String
    var chain: [String]
    var location: String?
    var method: String
    var path: String
    var headers: [Header]
    var correlationID: String
}
