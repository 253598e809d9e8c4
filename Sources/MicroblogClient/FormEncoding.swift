import Foundation

/// `application/x-www-form-urlencoded` bodies as a browser submits a form, every byte but ASCII letters, digits and
/// `-._~` percent-encoded (also a safe path segment or query value).
package enum FormEncoding {
    /// The `Content-Type` of an encoded body.
    package static let contentType = "application/x-www-form-urlencoded"

    private static let unreserved: CharacterSet = {
        var allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        allowed.insert(charactersIn: "-._~")
        return allowed
    }()

    /// `name=value` pairs joined by `&`, in the order given.
    package static func encode(_ fields: [(String, String)]) -> String {
        fields.map { escape($0.0) + "=" + escape($0.1) }.joined(separator: "&")
    }

    /// `text` percent-encoded as one name or value.
    package static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? ""
    }
}
