import PostgresNIO

/// A statement of the pages' path that postgres-nio prepares once per connection (the server parses and plans it
/// once, then only binds and executes it) instead of sending its text with every call. Its text is `Shape`'s, its
/// values those of the query the store built for the call, whose text is the same by construction (each shape's
/// text comes from the store's own query builder).
struct PreparedQuery<Shape: PreparedShape>: PostgresPreparedStatement {
    typealias Row = PostgresRow
    /// One prepared statement per shape and connection. Short: the server keeps a name's first 63 bytes only, where
    /// postgres-nio's default (the full generic type's name) would make some shapes one.
    static var name: String { "microblog.\(Shape.self)" }
    static var sql: String { Shape.sql }
    let bindings: PostgresBindings

    init(_ query: PostgresQuery) {
        bindings = query.binds
    }

    func makeBindings() -> PostgresBindings { bindings }
    func decodeRow(_ row: PostgresRow) -> PostgresRow { row }
}

/// The text of one prepared statement.
protocol PreparedShape {
    static var sql: String { get }
}

extension PostgresConnection {
    /// The rows of `query`, run as the prepared statement of `shape`.
    func rows<Shape: PreparedShape>(_ query: PostgresQuery, as shape: Shape.Type, logger: Logger) async throws -> [PostgresRow] {
        var rows: [PostgresRow] = []
        for try await row in try await execute(PreparedQuery<Shape>(query), logger: logger) {
            rows.append(row)
        }
        return rows
    }
}

/// The prepared statements: the session with its user, a profile page and the feeds, each way into a page.
enum PreparedStatements {
    static func userPage(_ position: PagePosition) -> any PreparedShape.Type {
        switch position {
        case .newest: UserPageNewest.self
        case .olderThan: UserPageOlder.self
        case .newerThan: UserPageNewer.self
        }
    }

    static func feed(byAuthor authorID: Int64?, _ position: PagePosition) -> any PreparedShape.Type {
        switch (authorID, position) {
        case (nil, .newest): FeedNewest.self
        case (nil, .olderThan): FeedOlder.self
        case (nil, .newerThan): FeedNewer.self
        case (_?, .newest): AuthorFeedNewest.self
        case (_?, .olderThan): AuthorFeedOlder.self
        case (_?, .newerThan): AuthorFeedNewer.self
        }
    }

    enum Session: PreparedShape {
        static let sql = PostgresStore.sessionQuery(key: "").sql
    }

    enum UserPageNewest: PreparedShape {
        static let sql = PostgresStore.userPageQuery(usernameKey: IdentityKey(""), position: .newest, perPage: 1).sql
    }

    enum UserPageOlder: PreparedShape {
        static let sql = PostgresStore.userPageQuery(usernameKey: IdentityKey(""), position: .olderThan(postID: 1), perPage: 1).sql
    }

    enum UserPageNewer: PreparedShape {
        static let sql = PostgresStore.userPageQuery(usernameKey: IdentityKey(""), position: .newerThan(postID: 1), perPage: 1).sql
    }

    enum FeedNewest: PreparedShape {
        static let sql = PostgresStore.feedQuery(authorID: nil, position: .newest, perPage: 1).sql
    }

    enum FeedOlder: PreparedShape {
        static let sql = PostgresStore.feedQuery(authorID: nil, position: .olderThan(postID: 1), perPage: 1).sql
    }

    enum FeedNewer: PreparedShape {
        static let sql = PostgresStore.feedQuery(authorID: nil, position: .newerThan(postID: 1), perPage: 1).sql
    }

    enum AuthorFeedNewest: PreparedShape {
        static let sql = PostgresStore.feedQuery(authorID: 1, position: .newest, perPage: 1).sql
    }

    enum AuthorFeedOlder: PreparedShape {
        static let sql = PostgresStore.feedQuery(authorID: 1, position: .olderThan(postID: 1), perPage: 1).sql
    }

    enum AuthorFeedNewer: PreparedShape {
        static let sql = PostgresStore.feedQuery(authorID: 1, position: .newerThan(postID: 1), perPage: 1).sql
    }
}
