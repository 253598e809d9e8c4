import Foundation

/// What a signed-in user's session remembers between requests. Stored server-side, one row per signed-in browser,
/// created at login and deleted at logout; the cookie only holds its random id. A signed-out visitor has none.
package struct SessionState: Codable, Sendable, Equatable {
    /// The logged-in user.
    package var userID: Int64
    /// The token every form of this session must send back as `csrf_token`.
    package var csrfToken: String

    enum CodingKeys: String, CodingKey {
        case userID, csrfToken
    }

    /// The member of a stored session's JSON that holds ``userID``: the stores join on it to read the session's
    /// user in the same statement as the session.
    static let userIDMember = CodingKeys.userID.stringValue

    /// A fresh session for `userID`, with a new CSRF token.
    package init(userID: Int64) {
        self.userID = userID
        self.csrfToken = RandomToken.make()
    }
}
