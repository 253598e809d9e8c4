import Foundation
import GRDB

/// A registered user as stored: the name as typed, its normalised key, and the profile.
public struct User: Codable, Sendable, Equatable, Identifiable, MutablePersistableRecord {
    public static let databaseTableName = "user"

    public var id: Int64?
    /// The username as the user typed it: what pages show.
    public var username: String
    /// ``IdentityKey`` of the username: what uniqueness is decided on.
    var usernameKey: String
    public var email: String
    var emailKey: String
    var passwordHash: String
    public var aboutMe: String?
    public var lastSeen: Date

    enum CodingKeys: String, CodingKey {
        case id, username, email
        case usernameKey = "username_key"
        case emailKey = "email_key"
        case passwordHash = "password_hash"
        case aboutMe = "about_me"
        case lastSeen = "last_seen"
    }

    static let usernameKeyColumn = Column(CodingKeys.usernameKey)
    static let emailKeyColumn = Column(CodingKeys.emailKey)

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}

/// A post as stored.
struct Post: Codable, Sendable, MutablePersistableRecord {
    static let databaseTableName = "post"

    var id: Int64?
    var body: String
    var timestamp: Date
    var userID: Int64

    enum CodingKeys: String, CodingKey {
        case id, body, timestamp
        case userID = "user_id"
    }

    mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}

/// A post as a page lists it, with what the page needs of its author (the tutorial's pages at this chapter show no
/// post times, so none is read).
public struct PostWithAuthor: Sendable, Equatable {
    public var id: Int64
    public var body: String
    public var authorName: String
    public var authorEmail: String

    init(id: Int64, body: String, authorName: String, authorEmail: String) {
        self.id = id
        self.body = body
        self.authorName = authorName
        self.authorEmail = authorEmail
    }
}

/// One page of a longer list, newest first.
public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    public var number: Int
    public var hasNewer: Bool
    public var hasOlder: Bool
}

/// The fields of a registration, already validated and normalised.
public struct NewUser: Sendable {
    var username: String
    var usernameKey: IdentityKey
    var email: String
    var emailKey: IdentityKey
    var passwordHash: String
}

extension User {
    /// The user a store has just inserted from `new`, with the id the database gave it.
    init(_ new: NewUser, id: Int64?, lastSeen: Date) {
        self.init(
            id: id,
            username: new.username,
            usernameKey: new.usernameKey.rawValue,
            email: new.email,
            emailKey: new.emailKey.rawValue,
            passwordHash: new.passwordHash,
            aboutMe: nil,
            lastSeen: lastSeen
        )
    }
}
