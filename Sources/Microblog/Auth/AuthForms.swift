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

    static func validate(_ form: FormData) -> Result<RegistrationForm, FormErrors> {
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
        guard let username, let email, let password, errors.isEmpty else { return .failure(errors) }
        return .success(RegistrationForm(username: username, email: email, password: password))
    }
}
