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
        let page = try await database.posts(page: request.pageNumber, perPage: postsPerPage)
        let model = IndexPage(
            layout: LayoutModel(title: "Home", context: context),
            form: .init(post: FieldModel(value: post, errors: errors["post"])),
            posts: PostModel.list(page.items),
            pagination: PaginationModel(page: page, basePath: "/index")
        )
        return .page(model)
    }

    // MARK: Profile

    @Sendable func profile(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let viewer = context.currentUser else { return .loginRedirect(for: request) }
        // Hummingbird hands the segment over still percent-encoded: decode it exactly once.
        guard let encoded = context.parameters.get("username"),
              let username = encoded.removingPercentEncoding,
              IdentityRules.usernameLength.contains(username.unicodeScalars.count),
              username.unicodeScalars.allSatisfy(IdentityRules.isUsernameScalar),
              let (user, page) = try await database.userPage(
                  usernameKey: IdentityKey(username), page: request.pageNumber, perPage: postsPerPage
              ),
              let userID = user.id
        else { throw PageError.notFound }
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
        switch try await EditProfileForm.validate(form, userID: userID, against: registry) {
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

extension Request {
    /// `?page=N`, 1 when absent or not a positive number.
    var pageNumber: Int {
        guard let text = uri.queryParameters["page"], let page = Int(text), page >= 1, page <= 1_000_000 else { return 1 }
        return page
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
