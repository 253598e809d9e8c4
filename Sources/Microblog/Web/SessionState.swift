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

    /// The member of a stored session's JSON that holds ``userID``: migration v3 read it to give each stored
    /// session its `user_id`.
    static let userIDMember = CodingKeys.userID.stringValue

    /// A fresh session for `userID`, with a new CSRF token.
    package init(userID: Int64) {
        self.userID = userID
        self.csrfToken = RandomToken.make()
    }
}
