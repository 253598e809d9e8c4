import Foundation
import PostgresNIO

extension PostgresStore {
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
