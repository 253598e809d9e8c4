import Foundation
import GRDB
import Logging
import PostgresNIO
import Testing
@testable import Microblog

/// The feeds' statements, explained by each engine on a seeded database: every page (the newest, older than a post,
/// newer than a post; everyone's, one author's with thousands of posts, a profile) seeks an index; none scans `post` or
/// `user` whole, and none sorts the feed (a profile's final ordering of its 21 fetched rows aside). An index dropped or
/// a statement that stops matching it fails here.
@Suite("Query plans of the feeds")
struct QueryPlanTests {
    static let positions: [PagePosition] = [.newest, .olderThan(postID: 500), .newerThan(postID: 500)]

    @Test("SQLite: index seeks only, no temporary sort for the feeds")
    func sqlite() async throws {
        let env = try TestEnvironment()
        defer { env.removeFiles() }
        let store = try env.openDatabase()
        _ = store  // migrated
        let queue = try DatabaseQueue(path: env.configuration.databasePath)
        try await queue.write { db in
            for user in 1...200 {
                try db.execute(
                    sql: """
                        INSERT INTO user (id, username, username_key, email, email_key, password_hash, last_seen)
                        VALUES (?, ?, ?, ?, ?, 'x', '2026-01-01 00:00:00.000')
                        """,
                    arguments: [user, "user\(user)", "user\(user)", "user\(user)@example.com", "user\(user)@example.com"]
                )
            }
            for post in 1...2_000 {
                try db.execute(
                    sql: "INSERT INTO post (id, body, timestamp, user_id) VALUES (?, 'post', ?, ?)",
                    arguments: [post, String(format: "2026-01-01 00:%02d:%02d.000", post / 60 % 60, post % 60), post <= 1_000 ? 1 : 1 + post % 200]
                )
            }
            try db.execute(sql: "ANALYZE")
        }
        for position in Self.positions {
            for authorID in [nil, Int64(1)] {
                let (sql, arguments) = SQLiteStore.feedStatement(authorID: authorID, position: position, perPage: 20)
                let plan = try await Self.explain(sql, arguments, in: queue)
                let label = "feed of \(authorID.map(String.init) ?? "everyone") at \(position): \(plan)"
                #expect(!plan.contains { Self.isFullScan($0.detail) }, "\(label)")
                #expect(!plan.contains { $0.detail.contains("TEMP B-TREE") }, "\(label)")
                // One author's posts: a seek to them in (user_id, timestamp); everyone's: the timestamp index, sought to
                // the anchor (a walk from its newest end for the newest page, which stops at the LIMIT).
                let seek = authorID != nil ? "SEARCH post USING INDEX post_on_user_id_timestamp (user_id=?"
                    : position == .newest ? "SCAN post USING INDEX post_on_timestamp" : "SEARCH post USING INDEX post_on_timestamp ("
                #expect(plan.contains { $0.detail.hasPrefix(seek) }, "\(label)")
            }
            let (sql, arguments) = SQLiteStore.userPageStatement(usernameKey: IdentityKey("user1"), position: position, perPage: 20)
            let plan = try await Self.explain(sql, arguments, in: queue)
            #expect(!plan.contains { Self.isFullScan($0.detail) }, "profile at \(position): \(plan)")
            #expect(plan.contains { $0.detail.hasPrefix("SEARCH post USING INDEX post_on_user_id_timestamp (user_id=?") }, "profile at \(position): \(plan)")
            // Only the outermost ordering of the page's fetched rows may use a temporary b-tree.
            #expect(!plan.contains { $0.detail.contains("TEMP B-TREE") && $0.parent != 0 }, "profile at \(position): \(plan)")
        }
    }

    /// `SCAN post` or `SCAN user` without an index: the whole table read.
    static func isFullScan(_ detail: String) -> Bool {
        (detail == "SCAN post" || detail == "SCAN user" || detail.hasPrefix("SCAN post ") && !detail.contains("USING"))
            || (detail.hasPrefix("SCAN user ") && !detail.contains("USING"))
    }

    struct PlanStep: CustomStringConvertible, Sendable {
        let parent: Int
        let detail: String
        var description: String { "\(parent): \(detail)" }
    }

    static func explain(_ sql: String, _ arguments: StatementArguments, in queue: DatabaseQueue) async throws -> [PlanStep] {
        try await queue.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: arguments).map { row in
                PlanStep(parent: row["parent"] ?? -1, detail: row["detail"] ?? "")
            }
        }
    }

    @Test("PostgreSQL: index scans only, no sort of the feeds")
    func postgres() async throws {
        let env = try await TestEnvironment(.postgres)
        defer { env.removeFiles() }
        let settings = try #require(env.configuration.postgres)
        // Migrates the database.
        _ = try await env.withStore { _ in true }
        let logger = Logger(label: "query-plans")
        let connection = try await PostgresStore.connectDirectly(settings, logger: logger)
        defer { Task { try? await connection.close() } }
        try await connection.query(#"""
            INSERT INTO "user" (username, username_key, email, email_key, password_hash, last_seen)
            SELECT 'user' || g, 'user' || g, 'user' || g || '@example.com', 'user' || g || '@example.com', 'x', now()
            FROM generate_series(1, 5000) AS g
            """#, logger: logger)
        try await connection.query(#"""
            INSERT INTO post (body, "timestamp", user_id)
            SELECT 'post', now() - g * interval '1 second', (SELECT min(id) FROM "user") + CASE WHEN g <= 20000 THEN 0 ELSE g % 5000 END
            FROM generate_series(1, 50000) AS g
            """#, logger: logger)
        try await connection.query("ANALYZE", logger: logger)
        let userID = try #require(try await connection.query(#"SELECT min(id) FROM "user""#, logger: logger).collect().first?.decode(Int64.self))
        let postID = try #require(try await connection.query("SELECT min(id) + 500 FROM post", logger: logger).collect().first?.decode(Int64.self))
        let positions: [PagePosition] = [.newest, .olderThan(postID: postID), .newerThan(postID: postID)]
        for position in positions {
            for authorID in [nil, userID] {
                let plan = try await Self.explain(PostgresStore.feedQuery(authorID: authorID, position: position, perPage: 20), on: connection)
                let label = "feed of \(authorID.map(String.init) ?? "everyone") at \(position):\n\(plan.joined(separator: "\n"))"
                #expect(!plan.contains { $0.contains("Seq Scan on post") || $0.contains(#"Seq Scan on "user""#) }, "\(label)")
                #expect(!plan.contains { $0.trimmingCharacters(in: .whitespaces).hasPrefix("Sort") || $0.contains("-> Sort") }, "\(label)")
            }
            let query = PostgresStore.userPageQuery(usernameKey: IdentityKey("user1"), position: position, perPage: 20)
            let plan = try await Self.explain(query, on: connection)
            let label = "profile at \(position):\n\(plan.joined(separator: "\n"))"
            #expect(!plan.contains { $0.contains("Seq Scan on post") || $0.contains(#"Seq Scan on "user""#) }, "\(label)")
            // Only the outermost ordering of the page's fetched rows may sort.
            #expect(!plan.dropFirst().contains { $0.contains("Sort  (") }, "\(label)")
        }
    }

    static func explain(_ query: PostgresQuery, on connection: PostgresConnection) async throws -> [String] {
        var explained = query
        explained.sql = "EXPLAIN " + query.sql
        var lines: [String] = []
        for try await line in try await connection.query(explained, logger: Logger(label: "query-plans")).decode(String.self) {
            lines.append(line)
        }
        return lines
    }
}
