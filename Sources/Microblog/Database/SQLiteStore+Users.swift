import Foundation
import GRDB

extension User {
    /// The user in the current row of a statement that selects the `user` table's columns by their names.
    init(_ row: SQLiteRowReader) throws(StoreError) {
        self.init(
            id: try row.int64("id"),
            username: try row.text("username"),
            usernameKey: try row.text("username_key"),
            email: try row.text("email"),
            emailKey: try row.text("email_key"),
            passwordHash: try row.text("password_hash"),
            aboutMe: try row.optionalText("about_me"),
            lastSeen: try row.date("last_seen")
        )
    }
}

extension SQLiteStore {
    /// Inserts a user, checking inside the transaction that neither key is held.
    /// - Throws: `.conflict(.username)` or `.conflict(.email)` when taken (by the check or by the UNIQUE index).
    public func insertUser(_ new: NewUser, at now: Date) async throws(StoreError) -> User {
        try await write { db in
            if try User.filter(User.usernameKeyColumn == new.usernameKey.rawValue).isEmpty(db) == false {
                throw StoreError.conflict(.username)
            }
            if try User.filter(User.emailKeyColumn == new.emailKey.rawValue).isEmpty(db) == false {
                throw StoreError.conflict(.email)
            }
            var user = User(new, id: nil, lastSeen: now)
            try user.insert(db)
            return user
        }
    }

    /// Changes a user's username (spelling or key) and about-me text, checking inside the transaction that no
    /// other user holds the new key.
    /// - Throws: `.conflict(.username)` when another user holds it.
    public func updateProfile(userID: Int64, username: String, usernameKey: IdentityKey, aboutMe: String?) async throws(StoreError) {
        try await write { db in
            let holder = try Int64.fetchOne(
                db,
                sql: "SELECT id FROM user WHERE username_key = ? AND id <> ?",
                arguments: [usernameKey.rawValue, userID]
            )
            if holder != nil { throw StoreError.conflict(.username) }
            try db.execute(
                sql: "UPDATE user SET username = ?, username_key = ?, about_me = ? WHERE id = ?",
                arguments: [username, usernameKey.rawValue, aboutMe, userID]
            )
        }
    }

    /// Records that the user was seen at `date`.
    public func touchLastSeen(userID: Int64, at date: Date) async throws(StoreError) {
        try await write { db in
            try db.execute(sql: "UPDATE user SET last_seen = ? WHERE id = ?", arguments: [date, userID])
        }
    }

    /// The user with this id, if any.
    public func user(id: Int64) async throws(StoreError) -> User? {
        try await readOneStatement { db in
            try SQLiteRowReader.first(db.cachedStatement(sql: "SELECT * FROM user WHERE id = ?"), arguments: [id]) { row throws(StoreError) in try User(row) }
        }
    }

    /// The user whose username normalises to `key`, if any.
    public func user(usernameKey key: IdentityKey) async throws(StoreError) -> User? {
        try await readOneStatement { db in
            try SQLiteRowReader.first(
                db.cachedStatement(sql: "SELECT * FROM user WHERE username_key = ?"), arguments: [key.rawValue]
            ) { row throws(StoreError) in try User(row) }
        }
    }

    public func heldIdentityKeys(username: IdentityKey?, email: IdentityKey?, exceptUserID: Int64?) async throws(StoreError) -> HeldIdentityKeys {
        try await readOneStatement { db in
            let held = try SQLiteRowReader.first(
                db.cachedStatement(sql: """
                    SELECT EXISTS (SELECT 1 FROM user WHERE username_key = ? AND id IS NOT ?) AS username,
                           EXISTS (SELECT 1 FROM user WHERE email_key = ? AND id IS NOT ?) AS email
                    """),
                arguments: [username?.rawValue, exceptUserID, email?.rawValue, exceptUserID]
            ) { row throws(StoreError) in
                HeldIdentityKeys(username: try row.bool("username"), email: try row.bool("email"))
            }
            return held ?? HeldIdentityKeys(username: false, email: false)
        }
    }
}

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
