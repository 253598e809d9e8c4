import CoreMetrics
import Foundation
import Hummingbird
import Logging

/// Login, logout and registration (the tutorial's `auth` blueprint).
struct AuthController: Sendable {
    let database: any Store
    let registry: UserRegistry
    let passwords: PasswordHasher
    let rememberMe: RememberMe
    let throttle: LoginThrottle
    let devices: DeviceCookie
    let signedOutCSRF: SignedOutCSRF
    let metrics: AppMetrics

    /// The forms a signed-out visitor posts, by path; their CSRF tokens are ``SignedOutCSRF`` tokens.
    static let signedOutForms: Set<String> = ["/login", "/register"]

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("/login", use: loginPage)
        router.post("/login", use: login)
        router.post("/logout", use: logout)
        router.get("/register", use: registerPage)
        router.post("/register", use: register)
    }

    // MARK: Login

    @Sendable func loginPage(_ request: Request, context: AppRequestContext) async throws -> Response {
        if context.currentUser != nil { return .redirect(to: "/index") }
        return try renderLogin(request: request, context: context)
    }

    @Sendable func login(_ request: Request, context: AppRequestContext) async throws -> Response {
        if context.currentUser != nil { return .redirect(to: "/index") }
        let form = context.form ?? FormData.empty
        let fields: LoginForm
        switch LoginForm.validate(form) {
        case .failure(let errors):
            return try renderLogin(request: request, context: context, username: form.echo("username"), errors: errors)
        case .success(let valid):
            fields = valid
        }
        // Reserve: the attempt is admitted and counted before the password is checked, in one atomic step.
        let accountKey = IdentityKey(fields.username)
        let device = request.cookieValue(named: DeviceCookie.cookieName).flatMap { devices.nonce(in: $0, for: accountKey) }
        let subjects = LoginThrottle.subjects(account: accountKey, device: device, client: context.remoteAddress)
        if let seconds = try await throttle.admit(subjects) {
            // A client's mistake like any other: counted in the error pages' summary, not a line per attempt.
            context.logger.debug("Login throttled")
            metrics.loginThrottled.increment()
            throw PageError.tooManyRequests(retryAfterSeconds: seconds)
        }
        // Verify. A failure stays counted: that is the whole settlement of a failed attempt.
        let user = try await database.user(usernameKey: accountKey)
        let verified: Bool
        do {
            verified = try await passwords.verify(fields.password, hash: user?.passwordHash)
        } catch let shed as PasswordWorkShed {
            // Shed before the password was checked: the attempt goes back to every subject.
            try await throttle.giveBack(subjects)
            throw shed
        }
        guard verified, let user, let userID = user.id else {
            context.logger.info("Failed login")
            return try renderLogin(
                request: request,
                context: context,
                username: fields.username,
                rememberMe: fields.rememberMe,
                formErrors: ["Invalid username or password"]
            )
        }
        // Settle a success: the account's (or device's) record goes, the client's attempt is given back.
        try await throttle.settleSuccess(subjects)
        // A new session id at login: whatever session the visitor had before is deleted.
        context.session.start(SessionState(userID: userID))
        metrics.sessionsCreated.increment()
        var response = Response.redirect(to: SafeRedirect.target(request.uri.queryParameters["next"].map(String.init)))
        response.setCookie(devices.cookie(for: accountKey))
        if fields.rememberMe {
            response.setCookie(try await rememberMe.issue(for: userID))
        }
        context.logger.info("User logged in", metadata: ["user_id": "\(userID)"])
        return response
    }

    private func renderLogin(
        request: Request,
        context: AppRequestContext,
        username: String = "",
        rememberMe: Bool = false,
        errors: FormErrors = FormErrors(),
        formErrors: [String] = []
    ) throws -> Response {
        let csrf = signedOutCSRF.issue(for: "/login", request: request)
        let model = LoginPage(
            layout: LayoutModel(title: "Sign In", context: context, csrfToken: csrf.token),
            form: .init(
                username: FieldModel(value: username, errors: errors["username"]),
                password: FieldModel(errors: errors["password"])
            ),
            rememberMe: rememberMe,
            formErrors: formErrors
        )
        var response = Response.page(model)
        if let cookie = csrf.cookie { response.setCookie(cookie) }
        return response
    }

    // MARK: Logout

    @Sendable func logout(_ request: Request, context: AppRequestContext) async throws -> Response {
        var response = Response.redirect(to: "/index")
        if let token = request.cookies[RememberMe.cookieName]?.value, !token.isEmpty {
            try await rememberMe.revoke(cookieValue: token)
            response.setCookie(rememberMe.expiredCookie)
        }
        if let userID = context.currentUser?.id {
            context.logger.info("User logged out", metadata: ["user_id": "\(userID)"])
        }
        context.session.end()
        return response
    }

    // MARK: Registration

    @Sendable func registerPage(_ request: Request, context: AppRequestContext) async throws -> Response {
        if context.currentUser != nil { return .redirect(to: "/index") }
        return try renderRegister(request: request, context: context, form: nil, errors: FormErrors())
    }

    @Sendable func register(_ request: Request, context: AppRequestContext) async throws -> Response {
        if context.currentUser != nil { return .redirect(to: "/index") }
        let form = context.form ?? FormData.empty
        let fields: RegistrationForm
        switch try await RegistrationForm.validate(form, against: registry) {
        case .failure(let errors):
            return try renderRegister(request: request, context: context, form: form, errors: errors)
        case .success(let valid):
            fields = valid
        }
        // A budget per client network: one anonymous client cannot fill the site with accounts.
        let budget: [LoginThrottle.Subject] = context.remoteAddress.map { [.registrations(ClientNetwork.of($0))] } ?? []
        if let seconds = try await throttle.admit(budget) {
            context.logger.debug("Registration throttled")
            throw PageError.tooManyRequests(retryAfterSeconds: seconds)
        }
        do {
            let hash = try await passwords.hash(fields.password)
            do throws(RegistryError) {
                let user = try await registry.register(username: fields.username, email: fields.email, passwordHash: hash)
                context.logger.info("User registered", metadata: ["user_id": "\(user.id ?? 0)"])
            } catch {
                var errors = FormErrors()
                try errors.add(error)
                // No account was made: the attempt goes back to the budget.
                try await throttle.giveBack(budget)
                return try renderRegister(request: request, context: context, form: form, errors: errors)
            }
        } catch let shed as PasswordWorkShed {
            try await throttle.giveBack(budget)
            throw shed
        }
        context.flash("Congratulations, you are now a registered user!")
        return .redirect(to: "/login")
    }

    private func renderRegister(request: Request, context: AppRequestContext, form: FormData?, errors: FormErrors) throws -> Response {
        let csrf = signedOutCSRF.issue(for: "/register", request: request)
        let model = RegisterPage(
            layout: LayoutModel(title: "Register", context: context, csrfToken: csrf.token),
            form: .init(
                username: FieldModel(value: form?.echo("username") ?? "", errors: errors["username"]),
                email: FieldModel(value: form?.echo("email") ?? "", errors: errors["email"]),
                password: FieldModel(errors: errors["password"]),
                password2: FieldModel(errors: errors["password2"])
            )
        )
        var response = Response.page(model)
        if let cookie = csrf.cookie { response.setCookie(cookie) }
        return response
    }
}

