import Foundation

/// The rules for usernames and e-mail addresses, shared by registration and the profile editor.
///
/// A username is 1 to 64 letters, marks, decimal digits, `_`, `-` and `.`, with nothing a reader cannot see (no
/// direction controls, no default-ignorable code point: zero-width characters, Hangul fillers, variation selectors),
/// no combining mark first, and one script, or scripts used together (UTS #39's "moderately restrictive" level, from
/// ICU: Latin with Chinese, Japanese or Korean, or with one other script but Greek and Cyrillic), and one digit
/// system. Each refusal has its own message. Names that look alike are the ``UserRegistry``'s to refuse
/// (``LookAlikeKey``).
enum IdentityRules {
    static let usernameLength = 1...64
    static let emailLength = 3...120

    static let lengthMessage = "Field must be between \(usernameLength.lowerBound) and \(usernameLength.upperBound) characters long."
    static let directionControlMessage = "Usernames may not contain text-direction controls."
    static let invisibleMessage = "Usernames may not contain invisible characters."
    static let charactersMessage = "Usernames may contain only letters, digits, '_', '-' and '.'."
    static let leadingMarkMessage = "Usernames may not start with a combining mark."
    static let mixedScriptsMessage = "Usernames may not mix scripts that are not written together, such as Latin with Cyrillic or Greek."
    static let mixedDigitsMessage = "Usernames may not mix digits of different number systems."

    /// Adds the first rule `username` breaks, if any, to `field`'s messages. A user keeping the name they hold now
    /// (`keeping`, in any spelling of its key) is held to the length and characters only: a name registered before a
    /// rule stays theirs.
    static func checkUsername(_ username: String, field: String = "username", keeping current: String? = nil, errors: inout FormErrors) {
        let scalars = username.unicodeScalars
        let keeps = current.map(IdentityKey.init) == IdentityKey(username)
        if !usernameLength.contains(scalars.count) {
            errors.add(lengthMessage, to: field)
        } else if !keeps, scalars.contains(where: \.properties.isBidiControl) {
            errors.add(directionControlMessage, to: field)
        } else if !keeps, scalars.contains(where: isInvisible) {
            errors.add(invisibleMessage, to: field)
        } else if !scalars.allSatisfy(isUsernameScalar) {
            errors.add(charactersMessage, to: field)
        } else if keeps {
            return
        } else if let first = scalars.first, isMark(first) {
            errors.add(leadingMarkMessage, to: field)
        } else if let mixing = LookAlikeKey.mixing(username) {
            errors.add(mixing == .scripts ? mixedScriptsMessage : mixedDigitsMessage, to: field)
        }
    }

    /// Default-ignorable code points (zero-width characters, the Hangul fillers U+115F, U+1160, U+3164 and U+FFA0,
    /// variation selectors, ...), which render as nothing.
    static func isInvisible(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isDefaultIgnorableCodePoint
    }

    static func isMark(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark: true
        default: false
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
