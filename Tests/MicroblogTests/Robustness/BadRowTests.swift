import Foundation
import GRDB
import HummingbirdTesting
import PostgresNIO
import Testing
@testable import Microblog

/// A value written into a row behind the server's back, and what each page that reads it must answer.
struct BadValue: Sendable, CustomTestStringConvertible {
    /// What happens to a visit that reads the value.
    enum Outcome: Sendable {
        /// The 500 page, an ERROR record with its reference, and that record in an error mail.
        case serverError
        /// The documented rule for a stored session this server did not write: no session (the visitor is signed out),
        /// and an ERROR record all the same.
        case noSession
        /// The documented rule for a login-attempt record whose count or window start is not a number: the statement
        /// that counts the next attempt rewrites it as a new record, and the login goes ahead.
        case rewritten
    }

    /// A visit that reads the value.
    enum Visit: Sendable {
        /// The victim's signed-in browser asks for a page (its session is read with its user).
        case victim(String)
        /// A browser holding only the victim's remember-me cookie asks for `/index`.
        case remembered
        /// The victim logs in again with the right password (the login throttle's records and the user are read).
        case login
        /// Another signed-in user asks for the victim's profile.
        case profileSeenByBystander
    }

    let name: String
    /// A statement with one `?`, the victim's user id.
    let sqlite: String?
    /// The same for PostgreSQL, given the victim's id.
    let postgres: (@Sendable (Int64) -> PostgresQuery)?
    let outcome: Outcome
    let visits: [Visit]

    var testDescription: String { name }
}

extension BadValue {
    /// Every column the server reads, with values of the wrong kind, on the engine that can hold them.
    static let all: [BadValue] = [
        // user: every signed-in page of the user (its session is read with it), its profile, its login.
        BadValue(
            name: "user.last_seen text that is no date",
            sqlite: "UPDATE user SET last_seen = 'not-a-date' WHERE id = ?",
            postgres: nil, outcome: .serverError, visits: [.victim("/index"), .profileSeenByBystander, .login]
        ),
        BadValue(
            name: "user.last_seen out of range",
            sqlite: "UPDATE user SET last_seen = 1e300 WHERE id = ?",
            postgres: { #"UPDATE "user" SET last_seen = 'infinity' WHERE id = \#($0)"# },
            outcome: .serverError, visits: [.victim("/user/VICTIM"), .profileSeenByBystander, .login]
        ),
        BadValue(
            name: "user.last_seen before the year 1",
            sqlite: "UPDATE user SET last_seen = -1e15 WHERE id = ?",
            postgres: { #"UPDATE "user" SET last_seen = '-infinity' WHERE id = \#($0)"# },
            outcome: .serverError, visits: [.victim("/edit_profile"), .profileSeenByBystander]
        ),
        BadValue(
            name: "user.last_seen a blob",
            sqlite: "UPDATE user SET last_seen = X'0102' WHERE id = ?",
            postgres: nil, outcome: .serverError, visits: [.victim("/index"), .profileSeenByBystander]
        ),
        BadValue(
            name: "user.username invalid UTF-8",
            sqlite: "UPDATE user SET username = CAST(X'76FF' AS TEXT) WHERE id = ?",
            postgres: nil, outcome: .serverError, visits: [.victim("/index"), .profileSeenByBystander]
        ),
        BadValue(
            name: "user.email a blob",
            sqlite: "UPDATE user SET email = X'00FF00' WHERE id = ?",
            postgres: nil, outcome: .serverError, visits: [.victim("/index"), .profileSeenByBystander]
        ),
        BadValue(
            name: "user.about_me invalid UTF-8",
            sqlite: "UPDATE user SET about_me = CAST(X'C328' AS TEXT) WHERE id = ?",
            postgres: nil, outcome: .serverError, visits: [.victim("/edit_profile"), .profileSeenByBystander]
        ),
        BadValue(
            name: "user.password_hash a blob",
            sqlite: "UPDATE user SET password_hash = X'24' WHERE id = ?",
            postgres: nil, outcome: .serverError, visits: [.login, .victim("/index")]
        ),
        // post: the feeds that list it.
        BadValue(
            name: "post.body invalid UTF-8",
            sqlite: "UPDATE post SET body = CAST(X'E282' AS TEXT) WHERE user_id = ?",
            postgres: nil, outcome: .serverError, visits: [.victim("/index"), .profileSeenByBystander]
        ),
        BadValue(
            name: "post.body a blob",
            sqlite: "UPDATE post SET body = X'68690A' WHERE user_id = ?",
            postgres: nil, outcome: .serverError, visits: [.victim("/user/VICTIM"), .profileSeenByBystander]
        ),
        // session: every page of the browser that holds it.
        BadValue(
            name: "session.expires_at text",
            sqlite: "UPDATE session SET expires_at = 'soon' WHERE json_extract(CAST(value AS TEXT), '$.userID') = ?",
            postgres: nil, outcome: .serverError, visits: [.victim("/index")]
        ),
        BadValue(
            name: "session.expires_at out of range",
            sqlite: "UPDATE session SET expires_at = 1e300 WHERE json_extract(CAST(value AS TEXT), '$.userID') = ?",
            postgres: { "UPDATE session SET expires_at = 'infinity' WHERE convert_from(value, 'UTF8')::jsonb->>'userID' = \(String($0))" },
            outcome: .serverError, visits: [.victim("/index")]
        ),
        BadValue(
            name: "session.value text instead of bytes",
            sqlite: "UPDATE session SET value = CAST(value AS TEXT) WHERE json_extract(CAST(value AS TEXT), '$.userID') = ?",
            postgres: nil, outcome: .serverError, visits: [.victim("/index")]
        ),
        BadValue(
            name: "session.value not a session this server wrote",
            sqlite: "UPDATE session SET value = X'FFFE00' WHERE json_extract(CAST(value AS TEXT), '$.userID') = ?",
            postgres: { "UPDATE session SET value = '\\xfffe00'::bytea WHERE convert_from(value, 'UTF8')::jsonb->>'userID' = \(String($0))" },
            outcome: .noSession, visits: [.victim("/index")]
        ),
        // remember_token: a visit that signs in by the remember cookie.
        BadValue(
            name: "remember_token.validator_hash text",
            sqlite: "UPDATE remember_token SET validator_hash = 'abc' WHERE user_id = ?",
            postgres: nil, outcome: .serverError, visits: [.remembered]
        ),
        BadValue(
            name: "remember_token.validator_hash a number",
            sqlite: "UPDATE remember_token SET validator_hash = 42 WHERE user_id = ?",
            postgres: nil, outcome: .serverError, visits: [.remembered]
        ),
        // login_failure: the victim's login, which reads the account's record first.
        BadValue(
            name: "login_failure.failures text",
            sqlite: "UPDATE login_failure SET failures = 'many' WHERE subject = (SELECT subject FROM victim_subject WHERE user_id = ?)",
            postgres: nil, outcome: .rewritten, visits: [.login]
        ),
        BadValue(
            name: "login_failure.failures negative",
            sqlite: "UPDATE login_failure SET failures = -9223372036854775808 WHERE subject = (SELECT subject FROM victim_subject WHERE user_id = ?)",
            postgres: { "UPDATE login_failure SET failures = -5 WHERE subject = (SELECT subject FROM victim_subject WHERE user_id = \($0))" },
            outcome: .serverError, visits: [.login]
        ),
        BadValue(
            name: "login_failure.first_failure a blob",
            sqlite: "UPDATE login_failure SET first_failure = X'00' WHERE subject = (SELECT subject FROM victim_subject WHERE user_id = ?)",
            postgres: nil, outcome: .rewritten, visits: [.login]
        ),
        BadValue(
            name: "login_failure.blocked_until out of range",
            sqlite: "UPDATE login_failure SET blocked_until = 1e300 WHERE subject = (SELECT subject FROM victim_subject WHERE user_id = ?)",
            postgres: { "UPDATE login_failure SET blocked_until = 'infinity' WHERE subject = (SELECT subject FROM victim_subject WHERE user_id = \($0))" },
            outcome: .serverError, visits: [.login]
        ),
    ]

    /// The values `backend` can hold at all (PostgreSQL's types refuse most of SQLite's).
    static func on(_ backend: Backend) -> [BadValue] {
        all.filter { backend == .sqlite ? $0.sqlite != nil : $0.postgres != nil }
    }
}

@Suite("A bad row is a 500 for the pages that read it, never a crash: the rest of the site keeps serving")
struct BadRowTests {
    @Test(
        "Every column the server reads, written with a value of the wrong kind: each visit that reads it is a 500 page (or no session, the documented rule), an ERROR record and an error mail; another user's pages answer 200 from the same server throughout",
        arguments: Backend.all
    )
    func badValues(_ backend: Backend) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let smtp = try await SMTPTestServer.start(in: directory)
        defer { smtp.stop() }
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        let mail = MailConfiguration(server: "localhost", port: smtp.port, admins: ["admin@example.com"])
        // Large files: every record of the run stays in the log to be checked.
        let logConfiguration = LogConfiguration(directory: directory.file("logs"), maxBytes: 4 << 20)
        let environment = env
        let cases = BadValue.on(backend)
        #expect(cases.count >= (backend == .sqlite ? 20 : 6))

        let references = try await withRunningSink(logConfiguration, mail: mail, policy: MailPolicy(coalescingWindow: .milliseconds(50))) { sink in
            let app = try await buildApplication(
                configuration: environment.configuration,
                dependencies: AppDependencies(logger: sinkLogger(sink))
            )
            let references = try await app.test(.live) { client in
                try await environment.withStore { store in
                    try await Self.run(cases, client: client, store: store)
                }
            }
            await sink.waitUntilIdle()
            return references
        }

        // Every 500 and every unreadable session left an ERROR record; every 500's reference is in the log and in a mail.
        let lines = (0...logConfiguration.backupCount).flatMap { index in
            readLines(index == 0 ? logConfiguration.filePath : "\(logConfiguration.filePath).\(index)")
        }
        let errorLines = lines.filter { $0.contains(" ERROR: ") }
        let mails = try smtp.messages().joined(separator: "\n")
        #expect(mails.contains("Subject: Microblog Failure"))
        for (name, reference) in references.serverErrors {
            #expect(errorLines.contains { $0.contains("reference=\(reference)") }, "no ERROR record for \(name)")
            #expect(mails.contains(reference), "no error mail for \(name)")
        }
        #expect(
            errorLines.filter { $0.contains("Stored session cannot be read") }.count >= references.unreadableSessions,
            "an unreadable session was not logged"
        )
        #expect(mails.contains("Stored session cannot be read") || references.unreadableSessions == 0)
        // The records name the column, never the value that was written.
        for secret in ["not-a-date", "many", "soon"] {
            #expect(!errorLines.contains { $0.contains(secret) })
        }
    }

    /// What the matrix produced: the reference of each 500 page by case, and how many unreadable sessions were met.
    struct References: Sendable {
        var serverErrors: [(String, String)] = []
        var unreadableSessions = 0
    }

    /// Runs every case against one server: a fresh victim each (registered, signed in, remembered, with a post and a
    /// failed login), the bad value written, each visit checked, a bystander's pages checked, the victim removed.
    private static func run(_ cases: [BadValue], client: any TestClientProtocol, store: any Store) async throws -> References {
        let bystander = Browser(client)
        try await bystander.signUp("bystander")
        #expect(try await bystander.post("/index", [("post", "still here")]).status == .found)
        var references = References()
        for (number, badValue) in cases.enumerated() {
            let name = "victim\(number)"
            let victim = Browser(client)
            try await victim.signUp(name)
            #expect(try await victim.post("/index", [("post", "a post by \(name)")]).status == .found)
            let remembered = Browser(client)
            #expect(try await remembered.login(name, rememberMe: true).status == .found)
            remembered.setCookie("session", nil)
            #expect(try await Browser(client).login(name, password: "wrong-password").status == .ok)
            let userID = try #require(try await store.user(usernameKey: IdentityKey(name))?.id)

            try await write(badValue, userID: userID, name: name, store: store)

            for visit in badValue.visits {
                let page: Page
                switch visit {
                case .victim(let path):
                    page = try await victim.get(path.replacingOccurrences(of: "VICTIM", with: name))
                case .remembered:
                    page = try await remembered.get("/index")
                case .login:
                    page = try await Browser(client).login(name)
                case .profileSeenByBystander:
                    page = try await bystander.get("/user/\(name)")
                }
                switch badValue.outcome {
                case .serverError:
                    #expect(page.status == .internalServerError, "\(badValue.name), \(visit): \(page.status)")
                    #expect(page.contains("An unexpected error has occurred"), "\(badValue.name): not the 500 page")
                    for detail in ["SELECT", "sqlite", "SQLite", "Postgres", "last_seen", "password_hash", "undecodable", ".swift"] {
                        #expect(!page.contains(detail), "\(badValue.name): the 500 page shows \(detail)")
                    }
                    if let reference = page.body.firstMatch(of: /Reference: ([0-9a-f]{8})/)?.1 {
                        references.serverErrors.append((badValue.name, String(reference)))
                    } else {
                        Issue.record("\(badValue.name), \(visit): no reference on the page")
                    }
                case .noSession:
                    #expect(page.status == .found && page.location?.hasPrefix("/login") == true, "\(badValue.name): \(page.status)")
                    references.unreadableSessions += 1
                case .rewritten:
                    #expect(page.status == .found && page.location == "/index", "\(badValue.name): \(page.status)")
                }
            }
            // Meanwhile another user's pages answer as usual.
            #expect(try await bystander.get("/user/bystander").status == .ok, "\(badValue.name): the bystander's profile")
            #expect(try await bystander.get("/edit_profile").status == .ok, "\(badValue.name): the bystander's editor")

            try await StoreBackdoor.execute(
                store,
                sqlite: "DELETE FROM user WHERE id = ?",
                arguments: [userID],
                postgres: #"DELETE FROM "user" WHERE id = \#(userID)"#
            )
            #expect(try await bystander.get("/index").status == .ok, "\(badValue.name): the bystander's feed")
        }
        return references
    }

    /// Writes the bad value for the victim; the login throttle's record is found by the victim's account subject.
    private static func write(_ badValue: BadValue, userID: Int64, name: String, store: any Store) async throws {
        let subject = LoginThrottle.Subject.account(IdentityKey(name)).storageKey
        switch store {
        case let sqlite as SQLiteStore:
            let sql = try #require(badValue.sqlite)
            let changed = try await sqlite.write { db in
                try db.execute(sql: "CREATE TEMP TABLE IF NOT EXISTS victim_subject (user_id INTEGER, subject TEXT)")
                try db.execute(sql: "DELETE FROM victim_subject")
                try db.execute(sql: "INSERT INTO victim_subject VALUES (?, ?)", arguments: [userID, subject])
                try db.execute(sql: sql, arguments: [userID])
                return db.changesCount
            }
            #expect(changed >= 1, "\(badValue.name) changed no row")
        case let postgres as PostgresStore:
            let makeQuery = try #require(badValue.postgres)
            let query = makeQuery(userID)
            let logger = postgres.logger
            try await postgres.withTransaction { connection in
                _ = try await connection.query("CREATE TEMP TABLE IF NOT EXISTS victim_subject (user_id BIGINT, subject TEXT)", logger: logger)
                _ = try await connection.query("DELETE FROM victim_subject", logger: logger)
                _ = try await connection.query("INSERT INTO victim_subject VALUES (\(userID), \(subject))", logger: logger)
                let rows = try await connection.query(query, logger: logger)
                _ = try await rows.collect()
            }
        default:
            Issue.record("no raw access to \(type(of: store))")
        }
    }
}
