import Foundation
/// Where to go after login: `next` only when it is a path on this site.
///
/// Accepted: exactly one leading `/`, not followed by `/` or `\`, and no backslash or control character anywhere
/// once percent-decoded. This refuses what the tutorial's `netloc` check lets through: `//evil.com`,
/// `///evil.com`, `/\evil.com`, `https:evil.com`, and their encoded forms.
enum SafeRedirect {
    static let fallback = "/index"

    static func target(_ next: String?) -> String {
        guard let next, isSameOriginPath(next) else { return fallback }
        return next
    }

    static func isSameOriginPath(_ path: String) -> Bool {
        guard path.utf8.first == UInt8(ascii: "/") else { return false }
        guard let decoded = path.removingPercentEncoding else { return false }
        for candidate in [path, decoded] {
            let scalars = Array(candidate.unicodeScalars)
            guard scalars.first == "/" else { return false }
            if scalars.count > 1, scalars[1] == "/" || scalars[1] == "\\" { return false }
            if scalars.contains(where: { $0 == "\\" || $0.properties.generalCategory == .control || $0 == "\u{7F}" }) {
                return false
            }
        }
        return true
    }
}
