import Foundation
import GRDB

extension SQLiteStore {
    /// Adds a post by `authorID` and marks the author as seen, in one transaction.
    public func createPost(authorID: Int64, body: String, at now: Date) async throws(StoreError) {
        let fault = faults.betweenPostWrites
        try await write { db in
            var post = Post(id: nil, body: body, timestamp: now, userID: authorID)
            try post.insert(db)
            try fault?()
            try db.execute(sql: "UPDATE user SET last_seen = ? WHERE id = ?", arguments: [now, authorID])
        }
    }

    /// Posts of everyone (or of one author), newest first, `perPage` at a time; `page` counts from 1.
    public func posts(byAuthor authorID: Int64?, page: Int, perPage: Int) async throws(StoreError) -> Page<PostWithAuthor> {
        let window = Page<PostWithAuthor>.window(page: page, perPage: perPage)
        return try await readOneStatement { db in
            var sql = """
                SELECT post.id, post.body, user.username, user.email
                FROM post JOIN user ON user.id = post.user_id
                """
            var arguments: StatementArguments = []
            if let authorID {
                sql += " WHERE post.user_id = ?"
                arguments += [authorID]
            }
            sql += " ORDER BY post.timestamp DESC, post.id DESC LIMIT ? OFFSET ?"
            arguments += [window.limit, window.offset]
            var posts: [PostWithAuthor] = []
            try SQLiteRowReader.forEachRow(db.cachedStatement(sql: sql), arguments: arguments) { row throws(StoreError) in
                posts.append(PostWithAuthor(
                    id: try row.int64("id"), body: try row.text("body"),
                    authorName: try row.text("username"), authorEmail: try row.text("email")
                ))
            }
            return Page(fetched: posts, number: window.number, perPage: perPage)
        }
    }

    /// The user with this username key and a page of their posts, in one statement; nil when no user has it.
    public func userPage(usernameKey key: IdentityKey, page: Int, perPage: Int) async throws(StoreError) -> (user: User, posts: Page<PostWithAuthor>)? {
        let window = Page<PostWithAuthor>.window(page: page, perPage: perPage)
        return try await readOneStatement { db -> (user: User, posts: Page<PostWithAuthor>)? in
            // A row per post of the window, each with its author's columns; a single row with NULL post columns when
            // the window holds none; no row when no user has the name.
            var user: User?
            var posts: [PostWithAuthor] = []
            try SQLiteRowReader.forEachRow(
                db.cachedStatement(sql: """
                    WITH profile AS (SELECT * FROM user WHERE username_key = ?)
                    SELECT profile.*, post.id AS post_id, post.body AS post_body
                    FROM profile LEFT JOIN (
                        SELECT id, body, timestamp FROM post WHERE user_id = (SELECT id FROM profile)
                        ORDER BY timestamp DESC, id DESC LIMIT ? OFFSET ?
                    ) AS post ON 1
                    ORDER BY post.timestamp DESC, post.id DESC
                    """),
                arguments: [key.rawValue, window.limit, window.offset]
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
            return (user, Page(fetched: posts, number: window.number, perPage: perPage))
        }
    }
}
