import Foundation

/// One `Set-Cookie` header as a client reads it: the cookie's name and value, and whether the server deletes it.
struct SetCookie: Sendable {
    var name: String
    var value: String
    /// `Max-Age=0`, an `Expires` date in 1970 or an empty value: the cookie is to be removed.
    var deletes: Bool

    /// Reads `name=value` and the attributes after it; nil when the header has no `=` before its first `;`.
    init?(_ header: String) {
        let attributes = header.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let pair = attributes.first, let equals = pair.firstIndex(of: "=") else { return nil }
        name = String(pair[..<equals])
        value = String(pair[pair.index(after: equals)...])
        deletes = value.isEmpty
            || attributes.contains { $0.lowercased() == "max-age=0" }
            || attributes.contains { $0.lowercased().hasPrefix("expires=") && $0.contains("1970") }
    }
}
