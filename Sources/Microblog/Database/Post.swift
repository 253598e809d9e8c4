import Foundation
import GRDB

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
