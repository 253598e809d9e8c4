import ArgumentParser
import Foundation
import MicroblogClient
import NIOConcurrencyHelpers

/// The requests load mode mixes.
enum LoadRequest: String, CaseIterable, Codable, Sendable {
    /// GET /index, logged in.
    case index
    /// GET /user/<name>, logged in.
    case user
    /// POST /edit_profile keeping one's name, with a new about-me text.
    case edit

    var expectedStatus: Int { self == .edit ? 302 : 200 }
}

/// Load mode: an open loop. Request i is due at `start + i / rate`, whatever happened to earlier ones, and its
/// latency is measured from that due time, so a stalled server shows in the percentiles (corrected for
/// coordinated omission) instead of silently lowering the rate.
struct Load: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Constant-rate open-loop load over GET /index, GET /user/<name>, POST /edit_profile."
    )

    @OptionGroup var common: CommonOptions

    @Option(help: "Requests per second.")
    var rate: Int = 1000

    @Option(help: "Seconds of load.")
    var duration: Int = 10

    @Option(help: "Logged-in users the requests are spread over (each with its own cookie jar).")
    var users: Int = 16

    @Option(help: "Weights, e.g. index=45,user=45,edit=10.")
    var mix: String = "index=45,user=45,edit=10"

    @Option(help: "Requests outstanding at most (and HTTP connections); when full, sending waits, the clock does not.")
    var maxInFlight: Int = 128

    @Option(help: "Posts each user writes before the load, so pages have content.")
    var postsPerUser: Int = 2

    func validate() throws {
        try common.validateCommon()
        guard (1...100_000).contains(rate) else { throw ValidationError("--rate must be 1...100000") }
        guard (1...3600).contains(duration) else { throw ValidationError("--duration must be 1...3600") }
        guard (1...1024).contains(users) else { throw ValidationError("--users must be 1...1024") }
        guard (1...4096).contains(maxInFlight) else { throw ValidationError("--max-in-flight must be 1...4096") }
        guard (0...100).contains(postsPerUser) else { throw ValidationError("--posts-per-user must be 0...100") }
        _ = try Self.schedulePattern(mix)
    }

    func run() async throws {
        let reporter = Reporter(json: common.json)
        let prefix = common.runPrefix
        let pattern = try Self.schedulePattern(mix)
        let progress = LiveProgress()
        let report = try await progress.showing { try await common.withSite(connections: maxInFlight) { site in
            reporter.say("load: \(rate) req/s for \(duration) s over \(users) users (\(mix)) against \(site.baseURL)")
            let accounts = try await site.makeAccounts(prefix: prefix, tag: "l", count: users, concurrency: common.setupConcurrency)
            let tokens = try await concurrentMap(accounts, limit: common.setupConcurrency) { index, account in
                let token = try await account.visitor.csrfToken(from: "/edit_profile")
                for post in 0..<postsPerUser {
                    let answer = try await account.visitor.post("/index", [
                        ("csrf_token", token), ("post", "Post \(post) of \(account.username), written before the load"),
                        ("submit", "Submit"),
                    ])
                    guard answer.outcome == .success else {
                        throw StressError.setupFailed("POST /index answered \(answer.status), not 302")
                    }
                }
                return token
            }
            let before = try await common.scrape(site)
            var report = try await load(site: site, accounts: accounts, tokens: tokens, pattern: pattern, progress: progress)
            if let before, let after = try await common.scrape(site) {
                let serverErrors = report.statuses.filter { $0.key.hasPrefix("5") }.values.reduce(0, +)
                report.reconciliation = Reconciliation(before: before, after: after, serverErrors: serverErrors, winners: nil, rejections: nil)
            }
            return report
        } }
        reporter.say(report.text)
        for line in report.reconciliation?.lines ?? [] { reporter.say(line) }
        try reporter.emit(report)
        if report.reconciliation?.ok == false { throw ExitCode(3) }
    }

    private func load(
        site: Site, accounts: [Account], tokens: [String], pattern: [LoadRequest], progress: LiveProgress
    ) async throws -> LoadReport {
        let total = rate * duration
        let interval = Duration.seconds(1) / rate
        let slots = Slots(limit: maxInFlight)
        let recorder = LoadRecorder()
        let start = ContinuousClock.now + .milliseconds(50)
        // However slow the server, the run ends: past this, nothing more is sent.
        let cutoff = start + .seconds(duration) + .seconds(common.timeout)
        var sent = 0
        await withDiscardingTaskGroup { group in
            for index in 0..<total {
                let due = start + interval * index
                if due > .now {
                    // Pacing to the timetable (an open loop), not synchronisation.
                    try? await Task.sleep(until: due, clock: .continuous)
                }
                await slots.acquire()
                if ContinuousClock.now > cutoff {
                    slots.release()
                    break
                }
                sent += 1
                let kind = pattern[index % pattern.count]
                let account = accounts[index % accounts.count]
                let token = tokens[index % accounts.count]
                let target = accounts[(index / accounts.count + index) % accounts.count].username
                group.addTask {
                    defer { slots.release() }
                    var status: Int?
                    do {
                        let answer: Answer
                        switch kind {
                        case .index:
                            answer = try await account.visitor.get("/index")
                        case .user:
                            answer = try await account.visitor.get("/user/\(FormEncoding.escape(target))")
                        case .edit:
                            answer = try await account.visitor.post(
                                "/edit_profile",
                                FormFields.editProfile(csrfToken: token, username: account.username, aboutMe: "load request \(index)")
                            )
                        }
                        status = answer.status
                    } catch {
                        status = nil
                    }
                    let latency = due.duration(to: .now)
                    recorder.record(kind, status: status, latency: latency)
                    progress.record(status: status, latency: latency)
                }
            }
        }
        let elapsed = start.duration(to: .now)
        return recorder.stats.withLockedValue { stats in
            LoadReport(
                rateTarget: rate, durationTarget: duration, users: users, mix: mix, maxInFlight: maxInFlight,
                scheduled: total, sent: sent, elapsedSeconds: elapsed.milliseconds / 1000, stats: stats
            )
        }
    }

    /// The order request kinds are sent in: smooth weighted round-robin over the mix, so kinds interleave.
    static func schedulePattern(_ mix: String) throws -> [LoadRequest] {
        var weights: [(LoadRequest, Int)] = []
        for part in mix.split(separator: ",") {
            let pair = part.split(separator: "=")
            guard pair.count == 2, let kind = LoadRequest(rawValue: pair[0].trimmingCharacters(in: .whitespaces)),
                  let weight = Int(pair[1].trimmingCharacters(in: .whitespaces)), (0...1000).contains(weight)
            else { throw ValidationError("--mix must look like index=45,user=45,edit=10") }
            weights.append((kind, weight))
        }
        let sum = weights.reduce(0) { $0 + $1.1 }
        guard sum > 0 else { throw ValidationError("--mix needs a positive weight") }
        var credit = [Int](repeating: 0, count: weights.count)
        var pattern: [LoadRequest] = []
        for _ in 0..<sum {
            for index in weights.indices { credit[index] += weights[index].1 }
            let best = credit.indices.max { credit[$0] < credit[$1] }!
            credit[best] -= sum
            pattern.append(weights[best].0)
        }
        return pattern
    }
}

/// Where the tasks of a load run record their results.
final class LoadRecorder: Sendable {
    let stats = NIOLockedValueBox(LoadStats())

    func record(_ kind: LoadRequest, status: Int?, latency: Duration) {
        stats.withLockedValue { $0.record(kind, status: status, latency: latency) }
    }
}

/// Counts and latencies of a load run, per request kind.
struct LoadStats: Sendable {
    var latencies: [LoadRequest: Latencies] = [:]
    var all = Latencies()
    var statuses: [LoadRequest: [String: Int]] = [:]
    var unexpected = 0
    var transportErrors = 0

    mutating func record(_ kind: LoadRequest, status: Int?, latency: Duration) {
        all.record(latency)
        latencies[kind, default: Latencies()].record(latency)
        let key = status.map(String.init) ?? "error"
        statuses[kind, default: [:]][key, default: 0] += 1
        if status == nil { transportErrors += 1 }
        if status != kind.expectedStatus { unexpected += 1 }
    }
}

/// The load run's report.
struct LoadReport: Sendable, Codable {
    struct PerKind: Sendable, Codable {
        var kind: LoadRequest
        var count: UInt64
        var statuses: [String: Int]
        var latency: LatencySummary
    }

    var mode = "load"
    var rateTarget: Int
    var durationTarget: Int
    var users: Int
    var mix: String
    var maxInFlight: Int
    var scheduled: Int
    var sent: Int
    var completed: UInt64
    var elapsedSeconds: Double
    var throughput: Double
    var unexpectedStatus: Int
    var transportErrors: Int
    var statuses: [String: Int]
    var latency: LatencySummary
    var perKind: [PerKind]
    /// The server's counters set against the tool's, with `--metrics-url`.
    var reconciliation: Reconciliation?

    init(
        rateTarget: Int, durationTarget: Int, users: Int, mix: String, maxInFlight: Int,
        scheduled: Int, sent: Int, elapsedSeconds: Double, stats: LoadStats
    ) {
        self.rateTarget = rateTarget
        self.durationTarget = durationTarget
        self.users = users
        self.mix = mix
        self.maxInFlight = maxInFlight
        self.scheduled = scheduled
        self.sent = sent
        self.completed = stats.all.count
        self.elapsedSeconds = (elapsedSeconds * 1000).rounded() / 1000
        self.throughput = elapsedSeconds > 0 ? (Double(stats.all.count) / elapsedSeconds).rounded() : 0
        self.unexpectedStatus = stats.unexpected
        self.transportErrors = stats.transportErrors
        var statuses: [String: Int] = [:]
        for byKind in stats.statuses.values {
            for (status, count) in byKind { statuses[status, default: 0] += count }
        }
        self.statuses = statuses
        self.latency = stats.all.summary
        self.perKind = LoadRequest.allCases.compactMap { kind in
            guard let latencies = stats.latencies[kind] else { return nil }
            return PerKind(kind: kind, count: latencies.count, statuses: stats.statuses[kind] ?? [:], latency: latencies.summary)
        }
    }

    var text: String {
        var lines = [
            String(
                format: "load: %d/%d sent, %llu completed in %.2f s = %.0f req/s (target %d req/s)",
                sent, scheduled, completed, elapsedSeconds, throughput, rateTarget
            ),
            "  all     \(latency.text)  (from the scheduled send time)",
        ]
        for kind in perKind {
            let statuses = kind.statuses.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
            lines.append("  \(kind.kind.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0)) \(kind.latency.text)  [\(statuses)]")
        }
        lines.append("  unexpected status: \(unexpectedStatus)  transport errors: \(transportErrors)")
        return lines.joined(separator: "\n")
    }
}
