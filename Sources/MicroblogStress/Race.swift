import ArgumentParser
import Foundation
import MicroblogClient

/// What is raced for one fresh name each round.
enum RaceKind: String, ExpressibleByArgument, Codable, Sendable {
    /// N logged-in users POST /edit_profile with the same new username.
    case rename
    /// N anonymous visitors POST /register with the same username (and distinct e-mails).
    case register
}

/// Race mode: per round, N requests claiming one fresh username are released at once; then the tool finds out
/// who holds the name. A correct server gives exactly one success, one holder and no 5xx every round.
struct Race: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Release N concurrent renames or registrations to one fresh name per round; count holders."
    )

    @OptionGroup var common: CommonOptions

    @Option(help: "Concurrent claimants per round (each with its own cookie jar).")
    var users: Int = 64

    @Option(help: "Rounds, one fresh name each.")
    var rounds: Int = 100

    @Option(help: "rename (POST /edit_profile) or register (POST /register).")
    var kind: RaceKind = .rename

    @Option(help: "Stop starting rounds after this many seconds.")
    var maxSeconds: Int = 1800

    @Flag(help: "Exit 0 even when a round has a 5xx or not exactly one holder.")
    var noFail = false

    func validate() throws {
        try common.validateCommon()
        guard (2...1024).contains(users) else { throw ValidationError("--users must be 2...1024") }
        guard (1...10_000).contains(rounds) else { throw ValidationError("--rounds must be 1...10000") }
        guard (1...86_400).contains(maxSeconds) else { throw ValidationError("--max-seconds must be 1...86400") }
    }

    func run() async throws {
        let reporter = Reporter(json: common.json)
        let prefix = common.runPrefix
        let progress = LiveProgress()
        let report = try await progress.showing {
            try await common.withSite(connections: users + 8) { site in
                try await race(site: site, prefix: prefix, reporter: reporter, progress: progress)
            }
        }
        for line in report.reconciliation?.lines ?? [] { reporter.say(line) }
        try reporter.emit(report)
        if report.reconciliation?.ok == false { throw ExitCode(3) }
        if !report.ok && !noFail { throw ExitCode(2) }
    }

    private func race(site: Site, prefix: String, reporter: Reporter, progress: LiveProgress) async throws -> RaceReport {
        let deadline = ContinuousClock.now + .seconds(maxSeconds)
        reporter.say("race \(kind.rawValue): \(users) users, \(rounds) rounds against \(site.baseURL), names \(prefix)*")
        let setupStart = ContinuousClock.now
        // The observer is a logged-in user who looks at /user/<name> after each round.
        let observer = try await site.makeAccounts(prefix: prefix, tag: "obs", count: 1, concurrency: 1)[0]
        var accounts: [Account] = []
        var tokens: [String] = []
        if kind == .rename {
            accounts = try await site.makeAccounts(prefix: prefix, tag: "u", count: users, concurrency: common.setupConcurrency)
            tokens = try await observe(accounts).map(\.token)
        }
        reporter.say("setup: \(String(format: "%.1f", setupStart.duration(to: .now).milliseconds / 1000)) s")
        let before = try await common.scrape(site)

        var results: [RoundResult] = []
        var total = Latencies()
        for round in 1...rounds {
            guard ContinuousClock.now < deadline else {
                reporter.say("stopping after \(round - 1) rounds: --max-seconds \(maxSeconds) reached")
                break
            }
            let name = "\(prefix)\(kind == .rename ? "r" : "g")\(round)"
            var result: RoundResult
            var latencies: Latencies
            switch kind {
            case .rename:
                let forms = tokens.map { FormFields.editProfile(csrfToken: $0, username: name, aboutMe: "race round \(round)") }
                let shots = await burst(accounts.map(\.visitor), path: "/edit_profile", forms: forms, progress: progress)
                (result, latencies) = RoundResult.tally(round: round, name: name, shots)
                let seen = try await observe(accounts)
                tokens = seen.map(\.token)
                result.holders = seen.filter { $0.username.lowercased() == name.lowercased() }.count
            case .register:
                let visitors = (0..<users).map { _ in Visitor(site: site) }
                let registerTokens = try await concurrentMap(visitors, limit: users) { _, visitor in
                    try await visitor.csrfToken(from: "/register")
                }
                let passwords = (0..<users).map { "pw-\(prefix)-g\(round)-\($0)" }
                let forms = (0..<users).map {
                    FormFields.registration(
                        csrfToken: registerTokens[$0], username: name, email: "\(name)v\($0)@stress.example.com", password: passwords[$0]
                    )
                }
                let shots = await burst(visitors, path: "/register", forms: forms, progress: progress)
                (result, latencies) = RoundResult.tally(round: round, name: name, shots)
                // Who holds it: every claimant whose outcome is not a plain rejection tries to log in with its own
                // password (a rejected registration stored nothing).
                let candidates = shots.indices.filter { shots[$0].outcome != .rejected }
                let logins = try await concurrentMap(candidates, limit: common.setupConcurrency) { _, index in
                    try await visitors[index].logIn(username: name, password: passwords[index])
                }
                result.holders = logins.filter { $0 }.count
            }
            let profile = try await observer.visitor.get("/user/\(FormEncoding.escape(name))")
            result.profileShown = profile.status == 200 && profile.body.contains("User: \(HTML.escape(name))")
            total.add(latencies)
            results.append(result)
            reporter.say(result.line)
        }
        var report = RaceReport(kind: kind, users: users, rounds: results, latency: total.summary)
        reporter.say(report.totalLine)
        if let before, let after = try await common.scrape(site) {
            report.reconciliation = Reconciliation(
                before: before,
                after: after,
                serverErrors: results.reduce(0) { $0 + $1.serverErrors },
                winners: results.reduce(0) { $0 + $1.success },
                rejections: results.reduce(0) { $0 + $1.rejected - $1.rejectedOtherReason }
            )
        }
        return report
    }

    /// Releases one POST per visitor at the same instant (a barrier), and times each from that instant.
    private func burst(_ visitors: [Visitor], path: String, forms: [[(String, String)]], progress: LiveProgress) async -> [Shot] {
        let barrier = Barrier(count: visitors.count)
        return await withTaskGroup(of: (Int, Shot).self) { group in
            for (index, visitor) in visitors.enumerated() {
                let form = forms[index]
                group.addTask {
                    let released = await barrier.arrive()
                    do {
                        let answer = try await visitor.post(path, form)
                        var outcome = answer.outcome
                        // A redirect to the login page is a lost session, not a won claim.
                        if outcome == .success, answer.location?.contains("next=") == true { outcome = .other }
                        let taken = answer.body.contains("Please use a different username")
                        let reason = outcome == .rejected && !taken
                        progress.record(status: answer.status, rejection: outcome == .rejected && taken, latency: released.duration(to: .now))
                        return (index, Shot(outcome: outcome, latency: released.duration(to: .now), rejectedForOtherReason: reason))
                    } catch {
                        progress.record(status: nil, latency: released.duration(to: .now))
                        return (index, Shot(outcome: .transportError, latency: released.duration(to: .now), rejectedForOtherReason: false))
                    }
                }
            }
            var shots = [Shot?](repeating: nil, count: visitors.count)
            for await (index, shot) in group { shots[index] = shot }
            return shots.map { $0! }
        }
    }

    /// Each account's `/edit_profile`: the CSRF token for the next round and the username it now holds.
    private func observe(_ accounts: [Account]) async throws -> [(token: String, username: String)] {
        try await concurrentMap(accounts, limit: accounts.count) { _, account in
            let page = try await account.visitor.get("/edit_profile")
            guard let token = HTML.csrfToken(in: page.body),
                  let username = HTML.inputValue(named: "username", in: page.body)
            else { throw StressError.protocolViolation("GET /edit_profile answered \(page.status) without the form") }
            return (token, username)
        }
    }
}

/// One request of a burst.
struct Shot: Sendable {
    var outcome: Outcome
    var latency: Duration
    /// A 200 whose form error is not "Please use a different username." (a CSRF or validation problem).
    var rejectedForOtherReason: Bool
}

/// What one round showed.
struct RoundResult: Sendable, Codable {
    var round: Int
    var name: String
    var success = 0
    var rejected = 0
    var rejectedOtherReason = 0
    var serverErrors = 0
    var other = 0
    var transportErrors = 0
    var holders = 0
    var profileShown = false
    var latency = LatencySummary(count: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0)

    /// Exactly one claimant won, one account holds the name, and the server never failed.
    var ok: Bool { success == 1 && holders == 1 && serverErrors == 0 && transportErrors == 0 && other == 0 }

    static func tally(round: Int, name: String, _ shots: [Shot]) -> (RoundResult, Latencies) {
        var result = RoundResult(round: round, name: name)
        var latencies = Latencies()
        for shot in shots {
            latencies.record(shot.latency)
            switch shot.outcome {
            case .success: result.success += 1
            case .rejected: result.rejected += 1
            case .serverError: result.serverErrors += 1
            case .other: result.other += 1
            case .transportError: result.transportErrors += 1
            }
            if shot.rejectedForOtherReason { result.rejectedOtherReason += 1 }
        }
        result.latency = latencies.summary
        return (result, latencies)
    }

    var line: String {
        String(
            format: "round %3d %@  success %d  rejected %d  5xx %d  other %d  errors %d  holders %d  profile %@  p50 %.2f ms  p99 %.2f ms  max %.2f ms  %@",
            round, name, success, rejected, serverErrors, other, transportErrors, holders, profileShown ? "yes" : "NO",
            latency.p50, latency.p99, latency.max, ok ? "ok" : "FAIL"
        )
    }
}

/// The whole race run.
struct RaceReport: Sendable, Codable {
    var mode = "race"
    var kind: RaceKind
    var users: Int
    var rounds: [RoundResult]
    var latency: LatencySummary
    /// The server's counters set against the tool's, with `--metrics-url`.
    var reconciliation: Reconciliation?
    var roundsRun: Int { rounds.count }
    var roundsOK: Int { rounds.filter(\.ok).count }
    var ok: Bool { !rounds.isEmpty && roundsOK == rounds.count }

    init(kind: RaceKind, users: Int, rounds: [RoundResult], latency: LatencySummary) {
        self.kind = kind
        self.users = users
        self.rounds = rounds
        self.latency = latency
    }

    private func sum(_ key: KeyPath<RoundResult, Int>) -> Int { rounds.reduce(0) { $0 + $1[keyPath: key] } }

    var totalLine: String {
        """
        total \(kind.rawValue): \(roundsRun) rounds, \(roundsOK) ok  success \(sum(\.success))  rejected \(sum(\.rejected)) \
        (other reason \(sum(\.rejectedOtherReason)))  5xx \(sum(\.serverErrors))  other \(sum(\.other))  \
        errors \(sum(\.transportErrors))  rounds with holders != 1: \(rounds.filter { $0.holders != 1 }.count)  \
        latency \(latency.text)
        """
    }

    enum CodingKeys: String, CodingKey {
        case mode, kind, users, rounds, latency, roundsRun, roundsOK, ok, totals, reconciliation
    }

    struct Totals: Codable {
        var success, rejected, rejectedOtherReason, serverErrors, other, transportErrors, roundsWithOneHolder: Int
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(mode, forKey: .mode)
        try container.encode(kind, forKey: .kind)
        try container.encode(users, forKey: .users)
        try container.encode(rounds, forKey: .rounds)
        try container.encode(latency, forKey: .latency)
        try container.encode(roundsRun, forKey: .roundsRun)
        try container.encode(roundsOK, forKey: .roundsOK)
        try container.encode(ok, forKey: .ok)
        try container.encodeIfPresent(reconciliation, forKey: .reconciliation)
        try container.encode(
            Totals(
                success: sum(\.success), rejected: sum(\.rejected), rejectedOtherReason: sum(\.rejectedOtherReason),
                serverErrors: sum(\.serverErrors), other: sum(\.other), transportErrors: sum(\.transportErrors),
                roundsWithOneHolder: rounds.filter { $0.holders == 1 }.count
            ),
            forKey: .totals
        )
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        kind = try container.decode(RaceKind.self, forKey: .kind)
        users = try container.decode(Int.self, forKey: .users)
        rounds = try container.decode([RoundResult].self, forKey: .rounds)
        latency = try container.decode(LatencySummary.self, forKey: .latency)
        reconciliation = try container.decodeIfPresent(Reconciliation.self, forKey: .reconciliation)
    }
}
