import Foundation
import Hummingbird

/// The home feed, posting, profile pages and the profile editor (the tutorial's `main` blueprint).
struct MainController: Sendable {
    let database: any Store
    let registry: UserRegistry
    let postsPerPage: Int

    func addRoutes(to router: Router<AppRequestContext>) {
        for path in ["/", "/index"] {
            router.get(RouterPath(path), use: index)
            router.post(RouterPath(path), use: createPost)
        }
        router.get("/user/:username", use: profile)
        router.get("/edit_profile", use: editProfilePage)
        router.post("/edit_profile", use: editProfile)
        router.get("/static/style.css", use: stylesheet)
    }

    // MARK: Home

    @Sendable func index(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let user = context.currentUser else { return .loginRedirect(for: request) }
        return try await renderIndex(request: request, context: context, user: user, post: "", errors: FormErrors())
    }

    @Sendable func createPost(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let user = context.currentUser, let userID = user.id else { return .loginRedirect(for: request) }
        let form = context.form ?? .empty
        switch PostForm.validate(form) {
        case .failure(let errors):
            return try await renderIndex(request: request, context: context, user: user, post: form.echo("post"), errors: errors)
        case .success(let post):
            try await database.createPost(authorID: userID, body: post.body, at: Date())
            context.flash("Your post is now live!")
            return .redirect(to: "/index")
        }
    }

    private func renderIndex(
        request: Request,
        context: AppRequestContext,
        user: User,
        post: String,
        errors: FormErrors
    ) async throws -> Response {
        let position: PagePosition
        switch try FeedQuery(request.uri.queryParameters) {
        case .at(let at):
            position = at
        case .oldPage(let number):
            return try await oldPageRedirect(number, basePath: "/index", authorID: nil)
        }
        guard let page = try await database.posts(at: position, perPage: postsPerPage) else { throw PageError.badRequest }
        let model = IndexPage(
            layout: LayoutModel(title: "Home", context: context),
            form: .init(post: FieldModel(value: post, errors: errors["post"])),
            posts: PostModel.list(page.items),
            pagination: PaginationModel(page: page, basePath: "/index")
        )
        return .page(model)
    }

    /// The answer to an old `?page=N` link: a redirect to the same page by cursor (the post before it), or to the
    /// newest posts when the feed is shorter.
    private func oldPageRedirect(_ number: Int, basePath: String, authorID: Int64?) async throws -> Response {
        let last = try await database.postID(byAuthor: authorID, offset: (number - 1) * postsPerPage - 1)
        return .redirect(to: last.map { PagePosition.olderThan(postID: $0).url(basePath) } ?? basePath)
    }

    // MARK: Profile

    @Sendable func profile(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let viewer = context.currentUser else { return .loginRedirect(for: request) }
        // Hummingbird hands the segment over still percent-encoded: decode it exactly once.
        guard let encoded = context.parameters.get("username"),
              let username = encoded.removingPercentEncoding,
              IdentityRules.usernameLength.contains(username.unicodeScalars.count),
              username.unicodeScalars.allSatisfy(IdentityRules.isUsernameScalar),
              let query = Optional(try FeedQuery(request.uri.queryParameters)),
              let (user, found) = try await database.userPage(
                  usernameKey: IdentityKey(username), at: query.position, perPage: postsPerPage
              ),
              let userID = user.id
        else { throw PageError.notFound }
        if case .oldPage(let number) = query {
            return try await oldPageRedirect(number, basePath: UserPath.of(user.username), authorID: userID)
        }
        // A cursor that is not one of this user's posts.
        guard let page = found else { throw PageError.badRequest }
        let model = UserPage(
            layout: LayoutModel(title: user.username, context: context),
            profile: .init(user),
            isOwnProfile: viewer.id == userID,
            posts: PostModel.list(page.items),
            pagination: PaginationModel(page: page, basePath: UserPath.of(user.username))
        )
        return .page(model)
    }

    // MARK: Edit profile

    @Sendable func editProfilePage(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let user = context.currentUser else { return .loginRedirect(for: request) }
        return try renderEditProfile(context: context, username: user.username, aboutMe: user.aboutMe ?? "", errors: FormErrors())
    }

    @Sendable func editProfile(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let user = context.currentUser, let userID = user.id else { return .loginRedirect(for: request) }
        let form = context.form ?? .empty
        switch try await EditProfileForm.validate(form, userID: userID, currentUsername: user.username, against: registry) {
        case .failure(let errors):
            return try renderEditProfile(context: context, username: form.echo("username"), aboutMe: form.echo("about_me"), errors: errors)
        case .success(let fields):
            do throws(RegistryError) {
                try await registry.updateProfile(
                    userID: userID, username: fields.username, aboutMe: fields.aboutMe, currentUsername: user.username
                )
            } catch {
                var errors = FormErrors()
                try errors.add(error)
                return try renderEditProfile(context: context, username: fields.username, aboutMe: fields.aboutMe ?? "", errors: errors)
            }
            context.flash("Your changes have been saved.")
            return .redirect(to: "/edit_profile")
        }
    }

    private func renderEditProfile(context: AppRequestContext, username: String, aboutMe: String, errors: FormErrors) throws -> Response {
        let model = EditProfilePage(
            layout: LayoutModel(title: "Edit Profile", context: context),
            form: .init(
                username: FieldModel(value: username, errors: errors["username"]),
                aboutMe: FieldModel(value: aboutMe, errors: errors["about_me"])
            )
        )
        return .page(model)
    }

    // MARK: Static

    @Sendable func stylesheet(_ request: Request, context: AppRequestContext) async throws -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "public, max-age=3600"],
            body: .init(byteBuffer: ByteBuffer(string: Stylesheet.css))
        )
    }
}

/// The page of a feed a request asks for.
enum FeedQuery: Equatable {
    /// `?older=<post id>`, `?newer=<post id>`, or neither: the newest posts.
    case at(PagePosition)
    /// An old `?page=N` link (N from 2 to ``maximumOldPage``): answered with a redirect to the same page by cursor.
    case oldPage(Int)

    /// The deepest `?page=N` still redirected: finding its first post walks `N * POSTS_PER_PAGE` index entries.
    static let maximumOldPage = 50

    /// Reads the query: a cursor that is not a positive post id, both cursors at once, or a page number past
    /// ``maximumOldPage`` is a 400 page; a page number that is not a number, or 1, is the newest posts.
    init(_ parameters: Parameters) throws(PageError) {
        let older = parameters["older"]
        let newer = parameters["newer"]
        switch (older, newer) {
        case (nil, nil):
            guard let text = parameters["page"], let page = Int(text), page > 1 else {
                self = .at(.newest)
                return
            }
            guard page <= Self.maximumOldPage else { throw .badRequest }
            self = .oldPage(page)
        case (let older?, nil):
            self = .at(.olderThan(postID: try Self.postID(older)))
        case (nil, let newer?):
            self = .at(.newerThan(postID: try Self.postID(newer)))
        case (_?, _?):
            throw .badRequest
        }
    }

    /// A post id as a cursor carries it: 1 to 19 ASCII digits, a positive `Int64`.
    private static func postID(_ text: Substring) throws(PageError) -> Int64 {
        guard (1...19).contains(text.utf8.count), text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
              let id = Int64(text), id > 0
        else { throw .badRequest }
        return id
    }
}

extension FeedQuery {
    /// The position asked for; the newest posts for an old page link (which is redirected before it is read).
    var position: PagePosition {
        if case .at(let position) = self { position } else { .newest }
    }
}

extension PagePosition {
    /// The query of a link to this position of the feed at `basePath`.
    func url(_ basePath: String) -> String {
        switch self {
        case .newest: basePath
        case .olderThan(let id): "\(basePath)?older=\(id)"
        case .newerThan(let id): "\(basePath)?newer=\(id)"
        }
    }
}

extension Response {
    /// The answer to an anonymous request for a page that needs a login: `/login?next=<path>`.
    static func loginRedirect(for request: Request) -> Response {
        var allowed = CharacterSet.urlQueryAllowed
        allowed.remove(charactersIn: "&=+?#")
        let next = request.uri.path.addingPercentEncoding(withAllowedCharacters: allowed) ?? "/index"
        return .redirect(to: "/login?next=\(next)")
    }
}
