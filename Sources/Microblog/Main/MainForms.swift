import Foundation

/// The "Say something" form.
struct PostForm: Sendable {
    var body: String

    static func validate(_ form: FormData) -> Result<PostForm, FormErrors> {
        var errors = FormErrors()
        let body = form.text("post", kind: .multiLine, required: true, errors: &errors)
        if let body, !(1...140).contains(body.unicodeScalars.count) {
            errors.add("Field must be between 1 and 140 characters long.", to: "post")
        }
        guard let body, errors.isEmpty else { return .failure(errors) }
        return .success(PostForm(body: body))
    }
}

/// The profile editor: username and about_me.
struct EditProfileForm: Sendable {
    var username: String
    var aboutMe: String?

    /// Validates `form` for user `userID`, every field at once; a name another user holds is reported by an
    /// advisory read, and the ``UserRegistry`` decides at the write.
    /// `currentUsername`: the name the user holds now, which they may keep though it predates a rule.
    static func validate(
        _ form: FormData, userID: Int64, currentUsername: String, against registry: UserRegistry
    ) async throws(StoreError) -> Result<EditProfileForm, FormErrors> {
        var errors = FormErrors()
        let username = form.text("username", kind: .singleLine, required: true, errors: &errors)?
            .trimmingCharacters(in: .whitespaces)
        let aboutMe = form.text("about_me", kind: .multiLine, required: false, errors: &errors)
        if let username { IdentityRules.checkUsername(username, keeping: currentUsername, errors: &errors) }
        if let aboutMe, aboutMe.unicodeScalars.count > 140 {
            errors.add("Field cannot be longer than 140 characters.", to: "about_me")
        }
        if let username, errors["username"].isEmpty {
            let held = try await registry.lookUp(username: username, email: nil, exceptUserID: userID)
            if held.username {
                errors.add(FormErrors.usernameTaken, to: "username")
            } else if held.lookAlike, LookAlikeKey.of(username) != LookAlikeKey.of(currentUsername) {
                // A name from before the rule that looks like another keeps looking like it: not a new claim.
                errors.add(FormErrors.nameTooSimilar, to: "username")
            }
        }
        guard let username, let aboutMe, errors.isEmpty else { return .failure(errors) }
        return .success(EditProfileForm(username: username, aboutMe: aboutMe.isEmpty ? nil : aboutMe))
    }
}
