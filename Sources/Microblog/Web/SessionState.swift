import Foundation

/// What a session remembers between requests. Stored server-side; the cookie only holds its random id.
public struct SessionState: Codable, Sendable, Equatable {
    /// The logged-in user, or nil for an anonymous visitor.
    public var userID: Int64?
    /// The token every form of this session must send back as `csrf_token`.
    public var csrfToken: String
    /// Messages to show once on the next page.
    public var flashes: [String]

    /// A fresh session with a new CSRF token.
    public init(userID: Int64? = nil) {
        self.userID = userID
        self.csrfToken = RandomToken.make()
        self.flashes = []
    }
}

/// Unguessable tokens for sessions, CSRF and remember-me.
enum RandomToken {
    /// 32 random bytes from the system's CSPRNG, base64url without padding.
    static func make(byteCount: Int = 32) -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<byteCount).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
