import Foundation
import Mustache
import Testing
@testable import Microblog

/// View models answer Mustache through `child(named:)`; a property missing from its `switch` would render as
/// nothing, silently. Every stored property of every model must be reachable by its name.
@Suite("View models expose every property to the templates")
struct ViewModelKeyTests {
    static let field = FieldModel(value: "v", errors: ["e"])
    static let layout = LayoutModel(
        title: "t", currentUser: .init(username: "u", profilePath: "/user/u"), csrfToken: "c", flashes: ["f"]
    )
    static let post = PostModel(
        try! PostWithAuthor(row: ["id": 1, "body": "b", "timestamp": Date(), "username": "u", "email": "u@example.com"])
    )
    static let user = User(
        id: 1, username: "u", usernameKey: "u", email: "u@example.com", emailKey: "u@example.com",
        passwordHash: "x", aboutMe: "a", lastSeen: Date()
    )

    static let pagination = PaginationModel(page: Microblog.Page<PostWithAuthor>(items: [], number: 2, hasNewer: true, hasOlder: true), basePath: "/index")!

    static var models: [any MustacheParent] {
        [
            layout, layout.currentUser!, field, post,
            pagination,
            IndexPage(layout: layout, form: .init(post: field), posts: [post], pagination: pagination),
            IndexPage.Form(post: field),
            UserPage(layout: layout, profile: .init(user), isOwnProfile: true, posts: [post], pagination: nil),
            UserPage.Profile(user),
            EditProfilePage(layout: layout, form: .init(username: field, aboutMe: field)),
            EditProfilePage.Form(username: field, aboutMe: field),
            LoginPage(layout: layout, form: .init(username: field, password: field), rememberMe: true, formErrors: ["x"]),
            LoginPage.Form(username: field, password: field),
            RegisterPage(layout: layout, form: .init(username: field, email: field, password: field, password2: field)),
            RegisterPage.Form(username: field, email: field, password: field, password2: field),
            NotFoundModel(layout: layout),
            ServerErrorModel(layout: layout, correlationID: "r"),
            StatusPageModel(layout: layout, heading: "h", message: "m"),
            DebugPageModel(
                layout: layout, errorType: "T", message: "m", chain: ["c"], location: "l", method: "GET", path: "/",
                headers: [.init(name: "n", value: "v")], correlationID: "r"
            ),
            DebugPageModel.Header(name: "n", value: "v"),
        ]
    }

    @Test("Every non-nil stored property is answered by child(named:)")
    func everyKeyIsReachable() {
        for model in Self.models {
            for child in Mirror(reflecting: model).children {
                guard let label = child.label else { continue }
                if case Optional<Any>.none = child.value { continue }
                #expect(model.child(named: label) != nil, "\(type(of: model)).\(label) is not reachable from templates")
            }
            #expect(model.child(named: "noSuchKey") == nil)
        }
    }
}
