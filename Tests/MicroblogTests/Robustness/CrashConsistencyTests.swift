import Foundation
import GRDBSQLite
import MicroblogClient
import Testing

/// Real crashes: the real server process is killed with SIGKILL in the middle of a burst of registrations and
/// restarted on the same database file, again and again. Every registration that was answered with a 302 is
/// stored once and can log in, a registration answered with a form error is not stored, nothing is stored twice,
/// `PRAGMA integrity_check` says "ok", and the server restarts cleanly every time.
///
/// Synchronisation is by events, never by time: the kill is sent when the k-th 302 has been received (k varies
/// per iteration), while the rest of the burst is still unanswered.
@Suite("Crash consistency")
struct CrashConsistencyTests {
    static let iterations = 10
    /// Registrations per burst: every fourth one claims the username of the one before it, so a burst has
    /// `burst * 3 / 4` names to win and `burst / 4` expected form errors.
    static let burst = 32

    /// One registration of a burst: unique e-mail address and password, a username shared with at most one other.
    struct Attempt: Sendable {
        let iteration: Int
        let index: Int
        var username: String { "crash\(iteration)u\(index % 4 == 3 ? index - 1 : index)" }
        var email: String { "crash\(iteration)e\(index)@example.com" }
        var password: String { "pw-\(iteration)-\(index)-secret" }
    }

    /// What became of one registration.
    enum Outcome: Sendable {
        /// 302 to /login: the server promised the account exists.
        case acknowledged
        /// 200 with "Please use a different username.": the server promised it does not.
        case rejected
        /// Any other answer: a bug whether or not the server was killed.
        case unexpected(status: Int, body: String)
        /// No answer (connection refused or reset): expected once the kill is sent, and promises nothing.
        case lost(String)
    }

    /// A burst's outcomes and what the kill interrupted.
    struct Burst: Sendable {
        var outcomes: [(attempt: Attempt, outcome: Outcome)] = []
        /// Whether the k-th 302 came and the server died of the SIGKILL sent then.
        var killedByUs = false
        /// Responses not yet received when the kill was sent.
        var unansweredAtKill = 0
        /// Connection errors received before the kill was sent (there must be none).
        var lostBeforeKill: [String] = []

        var acknowledged: [Attempt] { attempts { if case .acknowledged = $0 { true } else { false } } }
        var rejected: [Attempt] { attempts { if case .rejected = $0 { true } else { false } } }
        var lost: Int { attempts { if case .lost = $0 { true } else { false } }.count }
        var unexpected: [String] {
            outcomes.compactMap { attempt, outcome -> String? in
                guard case .unexpected(let status, let body) = outcome else { return nil }
                return "\(attempt.username): \(status) \(body.prefix(300))"
            }
        }

        private func attempts(_ matching: (Outcome) -> Bool) -> [Attempt] {
            outcomes.filter { matching($0.outcome) }.map(\.attempt)
        }
    }

    @Test("kill -9 during bursts of registrations, restart, repeat: every 302 is stored and logs in, no duplicates, integrity ok")
    func killDuringRegistrationBursts() async throws {
        let env = try TestEnvironment()
        defer { env.removeFiles() }
        let environment = env.serverEnvironment
        let path = env.configuration.databasePath
        let started = ContinuousClock.now
        var everyAcknowledged: [Attempt] = []
        var everyRejected: [Attempt] = []
        var lostToKills = 0
        var previous: (burst: Burst, k: Int, walBytes: Int)?

        for iteration in 0...Self.iterations {
            // Restart on the file the last kill left behind; a server that cannot start fails the test with its output.
            let server: ServerProcess
            do {
                server = try await ServerProcess.start(environment: environment, workingDirectory: env.directory)
            } catch ServerProcessError.exited(let output) {
                Issue.record("the server did not start after \(iteration) kills:\n\(output)")
                return
            }
            defer { server.stop() }

            if let (burst, k, walBytes) = previous {
                // What the crashed server promised, checked against the restarted one.
                let stored = try await Self.verify(
                    acknowledged: burst.acknowledged, rejected: burst.rejected, path: path, server: server
                )
                let acknowledged = burst.acknowledged.count
                print(
                    "crash \(iteration)/\(Self.iterations): killed at 302 #\(k) with \(burst.unansweredAtKill) of "
                        + "\(Self.burst) unanswered (WAL \(walBytes) bytes); acknowledged \(acknowledged), "
                        + "rejected \(burst.rejected.count), lost \(burst.lost); stored \(stored), "
                        + "all \(acknowledged) acknowledged found and logged in"
                )
            }
            if iteration == Self.iterations {
                // The last restart: everything ever acknowledged, against the file as it now stands.
                let stored = try await Self.verify(
                    acknowledged: everyAcknowledged, rejected: everyRejected, path: path, server: server
                )
                server.stop()
                #expect(lostToKills > 0, "no request was cut off by any of the \(Self.iterations) kills: nothing was in flight")
                let probe = try SQLiteProbe(path: path)
                #expect(try probe.strings("PRAGMA integrity_check") == ["ok"])
                print(
                    "crash consistency: \(Self.iterations) kills, \(everyAcknowledged.count) acknowledged registrations, "
                        + "all found and logged in; \(everyRejected.count) rejected, none stored; \(lostToKills) cut off "
                        + "by the kills; \(stored) users stored "
                        + "in \(ContinuousClock.now - started)"
                )
                break
            }

            let k = 1 + (iteration * 7) % (Self.burst * 3 / 4 - 1) // 1, 8, 15, 22, 6, 13, 20, 4, 11, 18
            let attempts = (0..<Self.burst).map { Attempt(iteration: iteration, index: $0) }
            let burst = try await Self.registerThenKill(attempts, server: server, afterRedirect: k)
            let walBytes = Self.fileSize(path + "-wal")

            #expect(burst.killedByUs, "the server was not killed at the \(k)th 302:\n\(server.outputText)")
            // A request the kill cut off gets no answer at all: that, not the count of answers still to read, shows the
            // server died with work in flight.
            lostToKills += burst.lost
            #expect(burst.unexpected.isEmpty, "unexpected answers: \(burst.unexpected)\n\(server.outputText)")
            #expect(burst.lostBeforeKill.isEmpty, "requests failed before the kill: \(burst.lostBeforeKill)")
            everyAcknowledged += burst.acknowledged
            everyRejected += burst.rejected
            previous = (burst, k, walBytes)
        }
    }

    /// Prepares one browser per attempt (its own session and CSRF token), fires all registrations at once, and
    /// sends SIGKILL when the `k`-th 302 has been received; then collects every answer or error.
    static func registerThenKill(_ attempts: [Attempt], server: ServerProcess, afterRedirect k: Int) async throws -> Burst {
        try await LiveClient.with(port: server.port) { client in
            var prepared: [(Attempt, Browser, String)] = []
            for attempt in attempts {
                let browser = Browser(client)
                prepared.append((attempt, browser, try await browser.csrfToken(from: "/register")))
            }
            return await withTaskGroup(of: (Attempt, Outcome).self) { group in
                for (attempt, browser, token) in prepared {
                    group.addTask {
                        do {
                            let fields = FormFields.registration(
                                csrfToken: token, username: attempt.username, email: attempt.email, password: attempt.password
                            )
                            let page = try await browser.post("/register", fields, csrf: false)
                            if page.status.code == 302, page.location == "/login" { return (attempt, .acknowledged) }
                            if page.status.code == 200, page.contains("Please use a different username.") { return (attempt, .rejected) }
                            return (attempt, .unexpected(status: page.status.code, body: page.body))
                        } catch {
                            return (attempt, .lost(String(describing: error)))
                        }
                    }
                }
                var burst = Burst()
                var redirects = 0
                var killSent = false
                for await (attempt, outcome) in group {
                    burst.outcomes.append((attempt, outcome))
                    if killSent { continue }
                    switch outcome {
                    case .acknowledged:
                        redirects += 1
                        if redirects == k {
                            killSent = true
                            burst.unansweredAtKill = attempts.count - burst.outcomes.count
                            burst.killedByUs = server.kill()
                        }
                    case .lost(let error):
                        burst.lostBeforeKill.append("\(attempt.username): \(error)")
                    case .rejected, .unexpected:
                        break
                    }
                }
                if !killSent { server.kill() }
                return burst
            }
        }
    }

    /// Checks the restarted server and its file: sound, no duplicate keys, every acknowledged registration stored
    /// once and able to log in over HTTP, no rejected one stored. Returns how many users of the bursts these
    /// attempts belong to are stored.
    static func verify(acknowledged: [Attempt], rejected: [Attempt], path: String, server: ServerProcess) async throws -> Int {
        let probe = try SQLiteProbe(path: path)
        #expect(try probe.strings("PRAGMA integrity_check") == ["ok"])
        let users = try probe.integer("SELECT COUNT(*) FROM user")
        #expect(try probe.integer("SELECT COUNT(DISTINCT username_key) FROM user") == users, "duplicate usernames")
        #expect(try probe.integer("SELECT COUNT(DISTINCT email_key) FROM user") == users, "duplicate e-mail addresses")
        #expect(try probe.integer("SELECT COUNT(DISTINCT lower(username)) FROM user") == users, "duplicate usernames")
        for attempt in acknowledged {
            let rows = try probe.integer("SELECT COUNT(*) FROM user WHERE username = ? AND email = ?", attempt.username, attempt.email)
            #expect(rows == 1, "acknowledged \(attempt.username) <\(attempt.email)> is stored \(rows) times")
        }
        for attempt in rejected {
            let rows = try probe.integer("SELECT COUNT(*) FROM user WHERE email = ?", attempt.email)
            #expect(rows == 0, "rejected <\(attempt.email)> is stored \(rows) times")
        }
        let iterations = Set(acknowledged.map(\.iteration) + rejected.map(\.iteration))
        var stored = 0
        for iteration in iterations {
            stored += try probe.integer("SELECT COUNT(*) FROM user WHERE username LIKE ?", "crash\(iteration)u%")
        }

        let failures = try await LiveClient.with(port: server.port) { client in
            try await withThrowingTaskGroup(of: String?.self) { group in
                for attempt in acknowledged {
                    group.addTask {
                        let page = try await Browser(client).login(attempt.username, password: attempt.password)
                        if page.status.code == 302, page.location == "/index" { return nil }
                        return "\(attempt.username): \(page.status.code) \(page.location ?? "")"
                    }
                }
                return try await group.reduce(into: [String]()) { if let failure = $1 { $0.append(failure) } }
            }
        }
        #expect(failures.isEmpty, "acknowledged registrations that cannot log in: \(failures)\n\(server.outputText)")
        return stored
    }

    static func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
    }
}

/// A read-only connection to the database file through SQLite's C API, as another process would open it: reads
/// what the server committed, without GRDB or the app's migrations.
private final class SQLiteProbe {
    private var connection: OpaquePointer?

    init(path: String) throws {
        guard sqlite3_open_v2(path, &connection, SQLITE_OPEN_READONLY, nil) == SQLITE_OK else {
            defer { sqlite3_close(connection) }
            throw ProbeError.sqlite("open \(path): \(String(cString: sqlite3_errmsg(connection)))")
        }
        sqlite3_busy_timeout(connection, 5000)
    }

    deinit {
        sqlite3_close(connection)
    }

    /// The first column of every row of `sql`, as text.
    func strings(_ sql: String, _ arguments: String...) throws -> [String] {
        try query(sql, arguments)
    }

    /// The single integer `sql` selects.
    func integer(_ sql: String, _ arguments: String...) throws -> Int {
        guard let value = try query(sql, arguments).first, let number = Int(value) else {
            throw ProbeError.sqlite("no integer from \(sql)")
        }
        return number
    }

    private func query(_ sql: String, _ arguments: [String]) throws -> [String] {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(connection, sql, -1, &statement, nil) == SQLITE_OK else {
            throw ProbeError.sqlite("\(sql): \(String(cString: sqlite3_errmsg(connection)))")
        }
        defer { sqlite3_finalize(statement) }
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        for (index, argument) in arguments.enumerated() {
            sqlite3_bind_text(statement, Int32(index + 1), argument, -1, transient)
        }
        var values: [String] = []
        while true {
            switch sqlite3_step(statement) {
            case SQLITE_ROW:
                values.append(sqlite3_column_text(statement, 0).map { String(cString: $0) } ?? "")
            case SQLITE_DONE:
                return values
            default:
                throw ProbeError.sqlite("\(sql): \(String(cString: sqlite3_errmsg(connection)))")
            }
        }
    }

    /// Why the probe could not answer: SQLite's message and the statement.
    enum ProbeError: Error {
        case sqlite(String)
    }
}
