import Foundation

/// The rules for usernames and e-mail addresses, shared by registration and the profile editor.
enum IdentityRules {
    static let usernameLength = 1...64
    static let emailLength = 3...120

    static func checkUsername(_ username: String, field: String = "username", errors: inout FormErrors) {
        let count = username.unicodeScalars.count
        if !usernameLength.contains(count) {
            errors.add("Field must be between 1 and 64 characters long.", to: field)
        } else if !username.unicodeScalars.allSatisfy(isUsernameScalar) {
            errors.add("Usernames may contain only letters, digits, '_', '-' and '.'.", to: field)
        }
    }

    static func isUsernameScalar(_ scalar: Unicode.Scalar) -> Bool {
        if scalar == "_" || scalar == "-" || scalar == "." { return true }
        if scalar.properties.isAlphabetic { return true }
        if scalar.properties.generalCategory == .nonspacingMark || scalar.properties.generalCategory == .spacingMark { return true }
        return scalar.properties.numericType == .decimal
    }

    static func checkEmail(_ email: String, errors: inout FormErrors) {
        guard emailLength.contains(email.unicodeScalars.count), isPlausibleEmail(email) else {
            errors.add("Invalid email address.", to: "email")
            return
        }
    }

    /// One `@`, a non-empty local part, a dotted domain of letters, digits and hyphens, no spaces or controls.
    static func isPlausibleEmail(_ email: String) -> Bool {
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return false }
        let local = parts[0]
        let domain = parts[1]
        guard !local.contains(where: { $0.isWhitespace || "()<>,;:\\\"[]".contains($0) }) else { return false }
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2 else { return false }
        return labels.allSatisfy { label in
            !label.isEmpty && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || $0.properties.numericType == .decimal || $0 == "-" }
        }
    }
}
