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
package struct PostWithAuthor: Sendable, Equatable {
    package var id: Int64
    package var body: String
    package var authorName: String
    package var authorEmail: String

    package init(id: Int64, body: String, authorName: String, authorEmail: String) {
        self.id = id
        self.body = body
        self.authorName = authorName
        self.authorEmail = authorEmail
    }
}

/// One page of a feed, newest first, and where the pages beside it start.
package struct Page<Item: Sendable>: Sendable {
    package var items: [Item]
    /// The page of newer posts ("Newer posts"); nil on the newest page.
    package var newer: PagePosition?
    /// The page of older posts ("Older posts"); nil on the oldest page.
    package var older: PagePosition?
}

/// Where a page of a feed starts, as a key the store seeks to in its index (keyset paging): a page costs the same at
/// any depth. Posts are ordered by `(timestamp, id)`, newest first.
package enum PagePosition: Sendable, Hashable {
    /// The newest posts.
    case newest
    /// The posts just older than the post with this id.
    case olderThan(postID: Int64)
    /// The posts just newer than the post with this id.
    case newerThan(postID: Int64)
}
