import Foundation
import PostgresNIO

extension PostgresStore {
    /// The columns of a ``User``, in the order ``decodeUser(_:)`` reads them.
    static let userColumns = #"id, username, username_key, email, email_key, password_hash, about_me, last_seen"#

    /// The user in the row's first columns (``userColumns``), nil when they are NULL (an outer join found none).
    static func decodeUserIfPresent(_ row: PostgresRow) throws -> User? {
        try row.decode(Int64?.self) == nil ? nil : decodeUser(row)
    }

    static func decodeUser(_ row: PostgresRow) throws -> User {
        let (id, username, usernameKey, email, emailKey, passwordHash, aboutMe, lastSeen) =
            try row.decode((Int64, String, String, String, String, String, String?, Date).self)
        return User(
            id: id,
            username: username,
            usernameKey: usernameKey,
            email: email,
            emailKey: emailKey,
            passwordHash: passwordHash,
            aboutMe: aboutMe,
            lastSeen: try StoredValue.date(lastSeen, column: "last_seen")
        )
    }

    public func insertUser(_ new: NewUser, at now: Date) async throws(StoreError) -> User {
        let logger = logger
        return try await withTransaction { connection in
            let holders = try await connection.query(
                """
                SELECT (SELECT count(*) FROM "user" WHERE username_key = \(new.usernameKey.rawValue)),
                       (SELECT count(*) FROM "user" WHERE email_key = \(new.emailKey.rawValue))
                """,
                logger: logger
            ).collect()
            if let row = holders.first {
                let (byName, byEmail) = try row.decode((Int64, Int64).self)
                if byName > 0 { throw StoreError.conflict(.username) }
                if byEmail > 0 { throw StoreError.conflict(.email) }
            }
            let rows = try await connection.query(
                """
                INSERT INTO "user" (username, username_key, email, email_key, password_hash, about_me, last_seen)
                VALUES (\(new.username), \(new.usernameKey.rawValue), \(new.email), \(new.emailKey.rawValue),
                        \(new.passwordHash), NULL, \(now))
                RETURNING id
                """,
                logger: logger
            ).collect()
            guard let id = try rows.first?.decode(Int64.self) else { throw StoreError.failure("INSERT returned no id", location: "") }
            return User(new, id: id, lastSeen: now)
        }
    }

    public func updateProfile(userID: Int64, username: String, usernameKey: IdentityKey, aboutMe: String?) async throws(StoreError) {
        let logger = logger
        try await withTransaction { connection in
            let holders = try await connection.query(
                #"SELECT id FROM "user" WHERE username_key = \#(usernameKey.rawValue) AND id <> \#(userID)"#,
                logger: logger
            ).collect()
            if !holders.isEmpty { throw StoreError.conflict(.username) }
            try await connection.query(
                #"""
                UPDATE "user" SET username = \#(username), username_key = \#(usernameKey.rawValue), about_me = \#(aboutMe)
                WHERE id = \#(userID)
                """#,
                logger: logger
            )
        }
    }

    public func touchLastSeen(userID: Int64, at date: Date) async throws(StoreError) {
        let logger = logger
        try await withConnection { connection in
            _ = try await connection.query(#"UPDATE "user" SET last_seen = \#(date) WHERE id = \#(userID)"#, logger: logger)
        }
    }

    public func user(id: Int64) async throws(StoreError) -> User? {
        let logger = logger
        return try await withConnection { connection in
            let rows = try await connection.query(
                #"SELECT \#(unescaped: Self.userColumns) FROM "user" WHERE id = \#(id)"#,
                logger: logger
            ).collect()
            return try rows.first.map(Self.decodeUser)
        }
    }

    public func user(usernameKey key: IdentityKey) async throws(StoreError) -> User? {
        let logger = logger
        return try await withConnection { connection in
            let rows = try await connection.query(
                #"SELECT \#(unescaped: Self.userColumns) FROM "user" WHERE username_key = \#(key.rawValue)"#,
                logger: logger
            ).collect()
            return try rows.first.map(Self.decodeUser)
        }
    }

    public func heldIdentityKeys(username: IdentityKey?, email: IdentityKey?, exceptUserID: Int64?) async throws(StoreError) -> HeldIdentityKeys {
        let logger = logger
        return try await withConnection { connection in
            let rows = try await connection.query(
                #"""
                SELECT EXISTS (SELECT 1 FROM "user" WHERE username_key = \#(username?.rawValue) AND id IS DISTINCT FROM \#(exceptUserID)),
                       EXISTS (SELECT 1 FROM "user" WHERE email_key = \#(email?.rawValue) AND id IS DISTINCT FROM \#(exceptUserID))
                """#,
                logger: logger
            ).collect()
            guard let row = rows.first else { return HeldIdentityKeys(username: false, email: false) }
            let (username, email) = try row.decode((Bool, Bool).self)
            return HeldIdentityKeys(username: username, email: email)
        }
    }

    public func createPost(authorID: Int64, body: String, at now: Date) async throws(StoreError) {
        let (logger, fault) = (logger, faults.betweenPostWrites)
        try await withTransaction { connection in
            try await connection.query(
                #"INSERT INTO post (body, "timestamp", user_id) VALUES (\#(body), \#(now), \#(authorID))"#,
                logger: logger
            )
            try fault?()
            try await connection.query(#"UPDATE "user" SET last_seen = \#(now) WHERE id = \#(authorID)"#, logger: logger)
        }
    }

    public func posts(byAuthor authorID: Int64?, page: Int, perPage: Int) async throws(StoreError) -> Page<PostWithAuthor> {
        let logger = logger
        let (number, limit, offset) = Page<PostWithAuthor>.window(page: page, perPage: perPage)
        return try await withConnection { connection in
            let query: PostgresQuery = if let authorID {
                #"""
                SELECT post.id, post.body, "user".username, "user".email
                FROM post JOIN "user" ON "user".id = post.user_id
                WHERE post.user_id = \#(authorID)
                ORDER BY post."timestamp" DESC, post.id DESC LIMIT \#(limit) OFFSET \#(offset)
                """#
            } else {
                #"""
                SELECT post.id, post.body, "user".username, "user".email
                FROM post JOIN "user" ON "user".id = post.user_id
                ORDER BY post."timestamp" DESC, post.id DESC LIMIT \#(limit) OFFSET \#(offset)
                """#
            }
            var items: [PostWithAuthor] = []
            for try await (id, body, username, email) in try await connection.query(query, logger: logger)
                .decode((Int64, String, String, String).self) {
                items.append(PostWithAuthor(id: id, body: body, authorName: username, authorEmail: email))
            }
            return Page(fetched: items, number: number, perPage: perPage)
        }
    }

    public func userPage(usernameKey key: IdentityKey, page: Int, perPage: Int) async throws(StoreError) -> (user: User, posts: Page<PostWithAuthor>)? {
        let logger = logger
        let (number, limit, offset) = Page<PostWithAuthor>.window(page: page, perPage: perPage)
        return try await withConnection { connection in
            // A row per post of the window, each with its author's columns; a single row with NULL post columns when
            // the window holds none; no row when no user has the name.
            let rows = try await connection.query(
                #"""
                SELECT \#(unescaped: Self.userColumns), window_post.post_id, window_post.body
                FROM "user" LEFT JOIN LATERAL (
                    SELECT post.id AS post_id, post.body, post."timestamp" FROM post
                    WHERE post.user_id = "user".id
                    ORDER BY post."timestamp" DESC, post.id DESC LIMIT \#(limit) OFFSET \#(offset)
                ) AS window_post ON true
                WHERE "user".username_key = \#(key.rawValue)
                ORDER BY window_post."timestamp" DESC, window_post.post_id DESC
                """#,
                logger: logger
            ).collect()
            guard let first = rows.first else { return nil }
            let user = try Self.decodeUser(first)
            var posts: [PostWithAuthor] = []
            for row in rows {
                let cells = row.makeRandomAccess()
                guard let id = try cells["post_id"].decode(Int64?.self) else { continue }
                posts.append(PostWithAuthor(
                    id: id,
                    body: try cells["body"].decode(String.self),
                    authorName: user.username,
                    authorEmail: user.email
                ))
            }
            return (user, Page(fetched: posts, number: number, perPage: perPage))
        }
    }
}
