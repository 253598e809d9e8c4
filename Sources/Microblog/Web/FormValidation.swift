/// Per-field messages of a submitted form, in the tutorial's (WTForms') words.
struct FormErrors: Error, Sendable, Equatable {
    private(set) var byField: [String: [String]] = [:]

    var isEmpty: Bool { byField.isEmpty }

    subscript(field: String) -> [String] { byField[field] ?? [] }

    mutating func add(_ message: String, to field: String) {
        byField[field, default: []].append(message)
    }

    static let required = "This field is required."
    static let invalidCharacters = "This field contains characters that are not allowed."
    static let usernameTaken = "Please use a different username."
    static let emailTaken = "Please use a different email address."
    static let nameTooSimilar = "That name is too similar to an existing name."

    /// The form message for a claim the ``UserRegistry`` refused; a storage failure is rethrown as what it is.
    mutating func add(_ refusal: RegistryError) throws(StoreError) {
        switch refusal {
        case .usernameTaken: add(Self.usernameTaken, to: "username")
        case .nameTooSimilar: add(Self.nameTooSimilar, to: "username")
        case .emailTaken: add(Self.emailTaken, to: "email")
        case .store(let error): throw error
        }
    }
}

/// The kinds of text a form field may hold.
enum TextKind {
    /// One line: no control characters at all.
    case singleLine
    /// Free text: line breaks and tabs allowed, other control characters not.
    case multiLine
}

extension FormData {
    /// The field's text, or nil with a message added: missing or blank ("This field is required." when `required`),
    /// invalid UTF-8, NUL or other control characters.
    func text(_ name: String, kind: TextKind, required: Bool, errors: inout FormErrors) -> String? {
        switch text(name) {
        case .missing:
            if required { errors.add(FormErrors.required, to: name) }
            return required ? nil : ""
        case .invalid:
            errors.add(FormErrors.invalidCharacters, to: name)
            return nil
        case .text(let value):
            if value.unicodeScalars.contains(where: { !Self.isAllowed($0, kind: kind) }) {
                errors.add(FormErrors.invalidCharacters, to: name)
                return nil
            }
            if required, value.allSatisfy(\.isWhitespace) {
                errors.add(FormErrors.required, to: name)
                return nil
            }
            return value
        }
    }

    /// An HTML checkbox: `y` (WTForms) or `on` (a browser's default) is checked.
    func checkbox(_ name: String) -> Bool {
        guard case .text(let value) = text(name) else { return false }
        return ["y", "on", "true", "1"].contains(value.lowercased())
    }

    private static func isAllowed(_ scalar: Unicode.Scalar, kind: TextKind) -> Bool {
        if kind == .multiLine, scalar == "\n" || scalar == "\r" || scalar == "\t" { return true }
        switch scalar.properties.generalCategory {
        case .control, .surrogate, .unassigned, .privateUse: return false
        case .format: return scalar != "\u{202E}" && scalar != "\u{202D}"
        default: return true
        }
    }
}
