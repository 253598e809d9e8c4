import Foundation

/// The login form: username, password, remember_me.
struct LoginForm: Sendable {
    var username: String
    var password: String
    var rememberMe: Bool

    /// Validates `form`: a valid form, or the messages to show.
    static func validate(_ form: FormData) -> Result<LoginForm, FormErrors> {
        var errors = FormErrors()
        let username = form.text("username", kind: .singleLine, required: true, errors: &errors)
        let password = form.text("password", kind: .singleLine, required: true, errors: &errors)
        guard let username, let password, errors.isEmpty else { return .failure(errors) }
        return .success(LoginForm(username: username, password: password, rememberMe: form.checkbox("remember_me")))
    }
}

/// The registration form: username, email, password, password2.
struct RegistrationForm: Sendable {
    var username: String
    var email: String
    var password: String

    static let passwordLength = 8...1024

    /// Validates `form`, every field at once: a name or address someone else holds is reported beside a short
    /// password. That look-up is advisory (a read); the ``UserRegistry`` decides at the write.
    static func validate(_ form: FormData, against registry: UserRegistry) async throws(StoreError) -> Result<RegistrationForm, FormErrors> {
        var errors = FormErrors()
        let username = form.text("username", kind: .singleLine, required: true, errors: &errors)?
            .trimmingCharacters(in: .whitespaces)
        let email = form.text("email", kind: .singleLine, required: true, errors: &errors)?
            .trimmingCharacters(in: .whitespaces)
        let password = form.text("password", kind: .singleLine, required: true, errors: &errors)
        let password2 = form.text("password2", kind: .singleLine, required: true, errors: &errors)
        if let username { IdentityRules.checkUsername(username, errors: &errors) }
        if let email { IdentityRules.checkEmail(email, errors: &errors) }
        if let password, !passwordLength.contains(password.count) {
            errors.add("Field must be between 8 and 1024 characters long.", to: "password")
        }
        if let password, let password2, password != password2 {
            errors.add("Field must be equal to password.", to: "password2")
        }
        let validUsername = username.flatMap { errors["username"].isEmpty ? $0 : nil }
        let emailKey = email.flatMap { errors["email"].isEmpty ? IdentityKey($0) : nil }
        if validUsername != nil || emailKey != nil {
            let held = try await registry.lookUp(username: validUsername, email: emailKey, exceptUserID: nil)
            if held.username {
                errors.add(FormErrors.usernameTaken, to: "username")
            } else if held.lookAlike {
                errors.add(FormErrors.nameTooSimilar, to: "username")
            }
            if held.email { errors.add(FormErrors.emailTaken, to: "email") }
        }
        guard let username, let email, let password, errors.isEmpty else { return .failure(errors) }
        return .success(RegistrationForm(username: username, email: email, password: password))
    }
}
