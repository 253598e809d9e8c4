import Foundation
import PostgresNIO

extension PostgresStore {
    package func createPost(authorID: Int64, body: String, at now: Date) async throws(StoreError) {
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

    package func posts(byAuthor authorID: Int64?, at position: PagePosition, perPage: Int) async throws(StoreError) -> Page<PostWithAuthor>? {
        let logger = logger
        let seek = KeysetSeek(position)
        return try await withConnection { connection in
            let query = Self.feedQuery(authorID: authorID, position: position, perPage: perPage)
            var items: [PostWithAuthor] = []
            for row in try await connection.rows(query, as: PreparedStatements.feed(byAuthor: authorID, position), logger: logger) {
                let (id, body, username, email) = try row.decode((Int64, String, String, String).self)
                items.append(PostWithAuthor(id: id, body: body, authorName: username, authorEmail: email))
            }
            // No row after an anchor: it is not a post of this feed (no link the site writes leads past an end).
            if seek.anchor != nil, items.isEmpty { return nil }
            return Page(fetched: items, at: position, perPage: perPage)
        }
    }

    /// The query of ``posts(byAuthor:at:perPage:)`` (the query-plan tests explain it).
    static func feedQuery(authorID: Int64?, position: PagePosition, perPage: Int) -> PostgresQuery {
        let seek = KeysetSeek(position)
        var query: PostgresQuery = #"""
            SELECT post.id, post.body, "user".username, "user".email
            FROM post JOIN "user" ON "user".id = post.user_id
            WHERE true
            """#
        if let authorID {
            query.sql += " AND post.user_id = $\(query.binds.count + 1)"
            query.binds.append(authorID, context: .default)
        }
        if let anchor = seek.anchor {
            // The anchor must be a post of this feed; when it is not, the row value is NULL and no row matches.
            query.sql += #" AND (post."timestamp", post.id) \#(seek.comparison) (SELECT "timestamp", id FROM post WHERE id = $\#(query.binds.count + 1)"#
            query.binds.append(anchor, context: .default)
            if let authorID {
                query.sql += " AND user_id = $\(query.binds.count + 1)"
                query.binds.append(authorID, context: .default)
            }
            query.sql += ")"
        }
        query.sql += #" ORDER BY post."timestamp" \#(seek.order), post.id \#(seek.order) LIMIT $\#(query.binds.count + 1)"#
        query.binds.append(perPage + 1, context: .default)
        return query
    }

    /// The query of ``userPage(usernameKey:at:perPage:)`` (the query-plan tests explain it): a row per post of the
    /// page, each with its author's columns; a single row with NULL post columns when the page holds none; no row when
    /// no user has the name.
    static func userPageQuery(usernameKey key: IdentityKey, position: PagePosition, perPage: Int) -> PostgresQuery {
        let seek = KeysetSeek(position)
        var query: PostgresQuery = #"""
            SELECT \#(unescaped: Self.userColumns), page_post.post_id, page_post.body
            FROM "user" LEFT JOIN LATERAL (
                SELECT post.id AS post_id, post.body, post."timestamp" FROM post
                WHERE post.user_id = "user".id
            """#
        if let anchor = seek.anchor {
            query.sql += #"""
                 AND (post."timestamp", post.id) \#(seek.comparison)
                    (SELECT "timestamp", id FROM post AS anchor WHERE anchor.id = $\#(query.binds.count + 1) AND anchor.user_id = "user".id)
                """#
            query.binds.append(anchor, context: .default)
        }
        query.sql += #"""

                ORDER BY post."timestamp" \#(seek.order), post.id \#(seek.order) LIMIT $\#(query.binds.count + 1)
            ) AS page_post ON true
            WHERE "user".username_key = $\#(query.binds.count + 2)
            ORDER BY page_post."timestamp" \#(seek.order), page_post.post_id \#(seek.order)
            """#
        query.binds.append(perPage + 1, context: .default)
        query.binds.append(key.rawValue, context: .default)
        return query
    }

    package func postID(byAuthor authorID: Int64?, offset: Int) async throws(StoreError) -> Int64? {
        let logger = logger
        return try await withConnection { connection in
            let query: PostgresQuery = if let authorID {
                #"SELECT id FROM post WHERE user_id = \#(authorID) ORDER BY "timestamp" DESC, id DESC LIMIT 1 OFFSET \#(offset)"#
            } else {
                #"SELECT id FROM post ORDER BY "timestamp" DESC, id DESC LIMIT 1 OFFSET \#(offset)"#
            }
            for try await id in try await connection.query(query, logger: logger).decode(Int64.self) {
                return id
            }
            return nil
        }
    }

    package func userPage(
        usernameKey key: IdentityKey, at position: PagePosition, perPage: Int
    ) async throws(StoreError) -> (user: User, posts: Page<PostWithAuthor>?)? {
        let logger = logger
        let seek = KeysetSeek(position)
        return try await withConnection { connection in
            let query = Self.userPageQuery(usernameKey: key, position: position, perPage: perPage)
            let rows = try await connection.rows(query, as: PreparedStatements.userPage(position), logger: logger)
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
            if seek.anchor != nil, posts.isEmpty { return (user, nil) }
            return (user, Page(fetched: posts, at: position, perPage: perPage))
        }
    }
}
