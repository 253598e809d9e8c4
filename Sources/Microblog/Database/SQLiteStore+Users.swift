import Foundation
import GRDB


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
            try User.fetchOne(db.cachedStatement(sql: "SELECT * FROM user WHERE id = ?"), arguments: [id])
        }
    }

    /// The user whose username normalises to `key`, if any.
    public func user(usernameKey key: IdentityKey) async throws(StoreError) -> User? {
        try await readOneStatement { db in
            try User.fetchOne(db.cachedStatement(sql: "SELECT * FROM user WHERE username_key = ?"), arguments: [key.rawValue])
        }
    }

    public func heldIdentityKeys(username: IdentityKey?, email: IdentityKey?, exceptUserID: Int64?) async throws(StoreError) -> HeldIdentityKeys {
        try await readOneStatement { db in
            let row = try Row.fetchOne(
                db.cachedStatement(sql: """
                    SELECT EXISTS (SELECT 1 FROM user WHERE username_key = ? AND id IS NOT ?),
                           EXISTS (SELECT 1 FROM user WHERE email_key = ? AND id IS NOT ?)
                    """),
                arguments: [username?.rawValue, exceptUserID, email?.rawValue, exceptUserID]
            )
            return HeldIdentityKeys(username: row?[0] ?? false, email: row?[1] ?? false)
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
            let rows = try PostWithAuthor.fetchAll(db.cachedStatement(sql: sql), arguments: arguments)
            return Page(fetched: rows, number: window.number, perPage: perPage)
        }
    }

    /// The user with this username key and a page of their posts, in one statement; nil when no user has it.
    public func userPage(usernameKey key: IdentityKey, page: Int, perPage: Int) async throws(StoreError) -> (user: User, posts: Page<PostWithAuthor>)? {
        let window = Page<PostWithAuthor>.window(page: page, perPage: perPage)
        return try await readOneStatement { db -> (user: User, posts: Page<PostWithAuthor>)? in
            // A row per post of the window, each with its author's columns; a single row with NULL post columns when
            // the window holds none; no row when no user has the name.
            let rows = try Row.fetchCursor(
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
            )
            // Each row read while it is the cursor's live row (see `session(key:)`).
            guard let first = try rows.next() else { return nil }
            let user = try User(row: first)
            var posts: [PostWithAuthor] = []
            var row: Row? = first
            while let current = row {
                if let id: Int64 = current["post_id"] {
                    posts.append(PostWithAuthor(
                        id: id, body: current["post_body"], authorName: user.username, authorEmail: user.email
                    ))
                }
                row = try rows.next()
            }
            return (user, Page(fetched: posts, number: window.number, perPage: perPage))
        }
    }
}
