import Foundation
import GRDB

extension SQLiteStore {
    /// Adds a post by `authorID` and marks the author as seen, in one transaction.
    package func createPost(authorID: Int64, body: String, at now: Date) async throws(StoreError) {
        let fault = faults.betweenPostWrites
        try await write { db in
            var post = Post(id: nil, body: body, timestamp: now, userID: authorID)
            try post.insert(db)
            try fault?()
            try db.execute(sql: "UPDATE user SET last_seen = ? WHERE id = ?", arguments: [now, authorID])
        }
    }

    /// Posts of everyone (or of one author), newest first, `perPage` of them from `position`: one seek of the
    /// `(timestamp, rowid)` index whatever the depth; nil when `position` names a post not in this feed.
    package func posts(byAuthor authorID: Int64?, at position: PagePosition, perPage: Int) async throws(StoreError) -> Page<PostWithAuthor>? {
        let seek = KeysetSeek(position)
        let (sql, arguments) = Self.feedStatement(authorID: authorID, position: position, perPage: perPage)
        return try await readOneStatement { db -> Page<PostWithAuthor>? in
            var posts: [PostWithAuthor] = []
            try SQLiteRowReader.forEachRow(db.cachedStatement(sql: sql), arguments: arguments) { row throws(StoreError) in
                posts.append(PostWithAuthor(
                    id: try row.int64("id"), body: try row.text("body"),
                    authorName: try row.text("username"), authorEmail: try row.text("email")
                ))
            }
            // No row after an anchor: it is not a post of this feed (no link the site writes leads past an end).
            if seek.anchor != nil, posts.isEmpty { return nil }
            return Page(fetched: posts, at: position, perPage: perPage)
        }
    }

    /// The statement of ``posts(byAuthor:at:perPage:)`` (the query-plan tests explain it).
    static func feedStatement(authorID: Int64?, position: PagePosition, perPage: Int) -> (sql: String, arguments: StatementArguments) {
        var arguments: StatementArguments = []
        if let authorID { arguments += [authorID] }
        if let anchor = KeysetSeek(position).anchor {
            arguments += [anchor]
            if let authorID { arguments += [authorID] }
        }
        arguments += [perPage + 1]
        let statements = authorID == nil ? everyonesFeed : authorsFeed
        return (statements[position], arguments)
    }

    /// The texts of ``feedStatement(authorID:position:perPage:)``, built once: everyone's posts and one author's.
    private static let everyonesFeed = KeysetStatements { seek in feedText(seek, byAuthor: false) }
    private static let authorsFeed = KeysetStatements { seek in feedText(seek, byAuthor: true) }

    private static func feedText(_ seek: KeysetSeek, byAuthor: Bool) -> String {
        var sql = """
            SELECT post.id, post.body, user.username, user.email
            FROM post JOIN user ON user.id = post.user_id
            WHERE 1
            """
        if byAuthor { sql += " AND post.user_id = ?" }
        if seek.anchor != nil {
            // The anchor must be a post of this feed; when it is not, the row value is NULL and no row matches.
            sql += " AND (post.timestamp, post.id) \(seek.comparison) (SELECT timestamp, id FROM post WHERE id = ?"
            if byAuthor { sql += " AND user_id = ?" }
            sql += ")"
        }
        sql += " ORDER BY post.timestamp \(seek.order), post.id \(seek.order) LIMIT ?"
        return sql
    }

    /// The statement of ``userPage(usernameKey:at:perPage:)`` (the query-plan tests explain it).
    static func userPageStatement(usernameKey key: IdentityKey, position: PagePosition, perPage: Int) -> (sql: String, arguments: StatementArguments) {
        var arguments: StatementArguments = [key.rawValue]
        if let anchor = KeysetSeek(position).anchor { arguments += [anchor] }
        arguments += [perPage + 1]
        return (userPages[position], arguments)
    }

    /// The texts of ``userPageStatement(usernameKey:position:perPage:)``, built once: a row per post of the page, each
    /// with its author's columns; a single row with NULL post columns when the page holds none; no row when no user
    /// has the name.
    private static let userPages = KeysetStatements { seek in
        let anchored = seek.anchor == nil ? "" : """
            AND (timestamp, id) \(seek.comparison) (SELECT timestamp, id FROM post WHERE id = ? AND user_id = (SELECT id FROM profile))
            """
        return """
            WITH profile AS (SELECT * FROM user WHERE username_key = ?)
            SELECT profile.*, page.id AS post_id, page.body AS post_body
            FROM profile LEFT JOIN (
                SELECT id, body, timestamp FROM post WHERE user_id = (SELECT id FROM profile) \(anchored)
                ORDER BY timestamp \(seek.order), id \(seek.order) LIMIT ?
            ) AS page ON 1
            ORDER BY page.timestamp \(seek.order), page.id \(seek.order)
            """
    }

    package func postID(byAuthor authorID: Int64?, offset: Int) async throws(StoreError) -> Int64? {
        try await readOneStatement { db -> Int64? in
            var sql = "SELECT id FROM post"
            var arguments: StatementArguments = []
            if let authorID {
                sql += " WHERE user_id = ?"
                arguments += [authorID]
            }
            sql += " ORDER BY timestamp DESC, id DESC LIMIT 1 OFFSET ?"
            arguments += [offset]
            var id: Int64?
            try SQLiteRowReader.forEachRow(db.cachedStatement(sql: sql), arguments: arguments) { row throws(StoreError) in
                id = try row.int64("id")
            }
            return id
        }
    }

    /// The user with this username key and a page of their posts, in one statement; nil when no user has it.
    package func userPage(
        usernameKey key: IdentityKey, at position: PagePosition, perPage: Int
    ) async throws(StoreError) -> (user: User, posts: Page<PostWithAuthor>?)? {
        let seek = KeysetSeek(position)
        let (sql, arguments) = Self.userPageStatement(usernameKey: key, position: position, perPage: perPage)
        return try await readOneStatement { db -> (user: User, posts: Page<PostWithAuthor>?)? in
            var user: User?
            var posts: [PostWithAuthor] = []
            try SQLiteRowReader.forEachRow(
                db.cachedStatement(sql: sql),
                arguments: arguments
            ) { row throws(StoreError) in
                // Every row carries the user's columns; the first row's are read.
                let author: User
                if let user {
                    author = user
                } else {
                    author = try User(row)
                    user = author
                }
                if let id = try row.optionalInt64("post_id") {
                    posts.append(PostWithAuthor(
                        id: id, body: try row.text("post_body"), authorName: author.username, authorEmail: author.email
                    ))
                }
            }
            guard let user else { return nil }
            if seek.anchor != nil, posts.isEmpty { return (user, nil) }
            return (user, Page(fetched: posts, at: position, perPage: perPage))
        }
    }
}
