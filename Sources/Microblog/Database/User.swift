import Foundation
import GRDB

/// A registered user as stored: the name as typed, its normalised key, and the profile.
package struct User: Codable, Sendable, Equatable, Identifiable, MutablePersistableRecord {
    package static let databaseTableName = "user"

    package var id: Int64?
    /// The username as the user typed it: what pages show.
    package var username: String
    /// ``IdentityKey`` of the username: what uniqueness is decided on.
    package var usernameKey: String
    /// ``LookAlikeKey`` of the username: unique too. Nil for a name that looks like an earlier one, both registered
    /// before the rule (and until a store has assigned the keys).
    package var lookAlikeKey: String?
    package var email: String
    package var emailKey: String
    package var passwordHash: String
    package var aboutMe: String?
    package var lastSeen: Date

    enum CodingKeys: String, CodingKey {
        case id, username, email
        case usernameKey = "username_key"
        case lookAlikeKey = "look_alike_key"
        case emailKey = "email_key"
        case passwordHash = "password_hash"
        case aboutMe = "about_me"
        case lastSeen = "last_seen"
    }

    package init(
        id: Int64?,
        username: String,
        usernameKey: String,
        lookAlikeKey: String? = nil,
        email: String,
        emailKey: String,
        passwordHash: String,
        aboutMe: String? = nil,
        lastSeen: Date
    ) {
        self.id = id
        self.username = username
        self.usernameKey = usernameKey
        self.lookAlikeKey = lookAlikeKey
        self.email = email
        self.emailKey = emailKey
        self.passwordHash = passwordHash
        self.aboutMe = aboutMe
        self.lastSeen = lastSeen
    }

    static let usernameKeyColumn = Column(CodingKeys.usernameKey)
    static let lookAlikeKeyColumn = Column(CodingKeys.lookAlikeKey)
    static let emailKeyColumn = Column(CodingKeys.emailKey)

    package mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}

/// The fields of a registration, already validated and normalised.
package struct NewUser: Sendable {
    package var username: String
    package var usernameKey: IdentityKey
    package var lookAlikeKey: IdentityKey
    package var email: String
    package var emailKey: IdentityKey
    package var passwordHash: String
}

extension User {
    /// The user a store has just inserted from `new`, with the id the database gave it.
    package init(_ new: NewUser, id: Int64?, lastSeen: Date) {
        self.init(
            id: id,
            username: new.username,
            usernameKey: new.usernameKey.rawValue,
            lookAlikeKey: new.lookAlikeKey.rawValue,
            email: new.email,
            emailKey: new.emailKey.rawValue,
            passwordHash: new.passwordHash,
            aboutMe: nil,
            lastSeen: lastSeen
        )
    }
}
