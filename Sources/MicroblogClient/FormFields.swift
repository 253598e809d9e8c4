/// The fields of the contract's forms as a browser submits them from the server's pages: their names, their order
/// and the submit button's value, led by the CSRF token when one is given.
package enum FormFields {
    /// The name of the hidden input that carries a form's CSRF token.
    package static let csrfTokenName = "csrf_token"

    /// `POST /register`.
    package static func registration(
        csrfToken: String? = nil, username: String, email: String, password: String
    ) -> [(String, String)] {
        signed(csrfToken, [
            ("username", username), ("email", email), ("password", password), ("password2", password), ("submit", "Register"),
        ])
    }

    /// `POST /login`; `rememberMe` ticks the "Remember Me" box, which sends `y`.
    package static func login(
        csrfToken: String? = nil, username: String, password: String, rememberMe: Bool = false
    ) -> [(String, String)] {
        let remember = rememberMe ? [("remember_me", "y")] : []
        return signed(csrfToken, [("username", username), ("password", password)] + remember + [("submit", "Sign In")])
    }

    /// `POST /edit_profile`.
    package static func editProfile(csrfToken: String? = nil, username: String, aboutMe: String) -> [(String, String)] {
        signed(csrfToken, [("username", username), ("about_me", aboutMe), ("submit", "Submit")])
    }

    private static func signed(_ csrfToken: String?, _ fields: [(String, String)]) -> [(String, String)] {
        guard let csrfToken else { return fields }
        return [(csrfTokenName, csrfToken)] + fields
    }
}
