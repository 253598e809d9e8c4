import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Microblog
import MicroblogSimulation
import MicroblogClient
import NIOCore
import ServiceLifecycle
import Synchronization

// Request latency while error mail goes to an SMTP server that is up, and to one that
// accepts connections and never says a word. Requests must never wait on SMTP, so p99 stalled should be within
// 10 % of p99 up. Run it through `Benchmarks/mail-stall.sh`, which starts both SMTP servers:
//
//   microblog-mail-stall --up-port P1 --stalled-port P2 [--requests 20000] [--concurrency 8] [--post-percent 10]
//                        [--rounds 1] [--json]      (--json: also one JSON line per case on stderr; mail-stall.sh runs 4 rounds)
//
// Per case: a fresh database in a temporary folder, the app from `buildApplication(configuration:dependencies:)`
// served live on a loopback port chosen by the OS (HummingbirdTesting's `.live` setup: the real HTTP server; the
// workers use HummingbirdTesting's `TestClient`, one keep-alive HTTP/1.1 connection each, no redirects followed), a `LogSink` running as a service in its own ServiceGroup with
// `MailConfiguration(server: "127.0.0.1", port: <case>)`. One user registers, logs in and writes 5 posts; then
// `DatabaseFaults.betweenPostWrites` is armed, so every `POST /index` is a 500 (one ERROR record, mailed).
// `--concurrency` workers then share `--requests` requests: `--post-percent` % `POST /index` (expect 500), the
// rest `GET /index` (expect 200), in a fixed pseudo-random order (same seed in both cases), closed loop. Latency is
// measured per request around the client call.

struct Options {
    var upPort = 0
    var stalledPort = 0
    var requests = 20_000
    var concurrency = 8
    var postPercent = 10
    var rounds = 1
    var json = false

    init(_ arguments: [String]) throws {
        var iterator = arguments.dropFirst().makeIterator()
        func value(_ name: String) throws -> Int {
            guard let text = iterator.next(), let number = Int(text) else { throw BenchError("\(name) needs a number") }
            return number
        }
        while let argument = iterator.next() {
            switch argument {
            case "--up-port": upPort = try value(argument)
            case "--stalled-port": stalledPort = try value(argument)
            case "--requests": requests = try value(argument)
            case "--concurrency": concurrency = max(1, try value(argument))
            case "--post-percent": postPercent = min(100, max(0, try value(argument)))
            case "--rounds": rounds = max(1, try value(argument))
            case "--json": json = true
            default: throw BenchError("unknown argument \(argument)")
            }
        }
        guard upPort > 0, stalledPort > 0 else { throw BenchError("--up-port and --stalled-port are required") }
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

final class Flag: Sendable { let value = Atomic<Bool>(false) }
final class Counter: Sendable { let value = Atomic<Int>(0) }
final class Tally: Sendable { let counts = Mutex<[String: Int]>([:]) }

struct InjectedFault: Error, CustomStringConvertible {
    var description: String { "injected fault (mail-stall benchmark)" }
}

/// Latencies of one case, in nanoseconds.
struct CaseResult: Sendable {
    var name: String
    var all: [UInt64]
    var gets: [UInt64]
    var posts: [UInt64]
    var statuses: [Int: Int]
    var unexpected: Int
    var seconds: Double
    var mailEvents: String

    static func percentile(_ sorted: [UInt64], _ p: Double) -> Double {
        guard !sorted.isEmpty else { return .nan }
        let rank = min(sorted.count - 1, max(0, Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1))
        return Double(sorted[rank]) / 1e6
    }

    func summary(_ values: [UInt64]) -> (p50: Double, p90: Double, p99: Double, p999: Double, max: Double, count: Int) {
        let sorted = values.sorted()
        return (
            Self.percentile(sorted, 50), Self.percentile(sorted, 90), Self.percentile(sorted, 99),
            Self.percentile(sorted, 99.9), sorted.last.map { Double($0) / 1e6 } ?? .nan, sorted.count
        )
    }
}

/// The setup requests' visitor: a cookie jar, and each form posted with the CSRF token of its page.
struct Visitor {
    let jar = CookieJar()

    func send(
        _ client: some TestClientProtocol, _ path: String, method: HTTPRequest.Method = .get, form: [(String, String)]? = nil
    ) async throws -> TestResponse {
        var headers: HTTPFields = [:]
        headers[.cookie] = jar.header
        if form != nil { headers[.contentType] = FormEncoding.contentType }
        let body = form.map { ByteBuffer(string: FormEncoding.encode($0)) }
        let response = try await client.executeRequest(uri: path, method: method, headers: headers, body: body)
        jar.store(setCookies: response.headers[values: .setCookie])
        return response
    }

    /// Reads the CSRF token of `formPage` (`path` by default) and posts `fields` after it.
    func submit(_ client: some TestClientProtocol, _ path: String, _ fields: [(String, String)], formPage: String? = nil, expect: Int = 302) async throws {
        let page = try await send(client, formPage ?? path)
        guard let token = HTML.csrfToken(in: String(buffer: page.body)) else {
            throw BenchError("no csrf_token on \(formPage ?? path) (\(page.status.code))")
        }
        let response = try await send(client, path, method: .post, form: [(FormFields.csrfTokenName, token)] + fields)
        guard response.status.code == expect else {
            let html = String(buffer: response.body)
            let errors = html.split(separator: "\n").filter { $0.contains("<li") || $0.contains("span") }.prefix(5).joined(separator: " | ")
            throw BenchError("POST \(path) answered \(response.status.code), not \(expect): \(errors)")
        }
    }
}

func runCase(name: String, smtpPort: Int, options: Options) async throws -> CaseResult {
    let folder = NSTemporaryDirectory() + "microblog-mailstall-\(getpid())-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }

    let logConfiguration = LogConfiguration(directory: folder + "/logs")
    let mail = MailConfiguration(server: "127.0.0.1", port: smtpPort, admins: ["admin@example.com"])
    let sink = LogSink(configuration: logConfiguration, mail: mail, mailPolicy: MailPolicy())
    let configuration = AppConfiguration(
        secretKey: "mail-stall-benchmark-" + UUID().uuidString + UUID().uuidString,
        databasePath: folder + "/app.db",
        host: "127.0.0.1",
        port: 0,
        bcryptCost: 4,
        log: logConfiguration,
        mail: mail
    )
    let armed = Flag()
    let faults = DatabaseFaults(betweenPostWrites: { if armed.value.load(ordering: .relaxed) { throw InjectedFault() } })
    let logger = Logger(label: "microblog-mail-stall", factory: sink.makeHandler)
    let app = try await buildApplication(configuration: configuration, dependencies: AppDependencies(logger: logger, databaseFaults: faults))

    // Collect what the sink reports about its mail (sent, failed, retried), for the record.
    let events = Tally()
    let eventTask = Task {
        for await event in sink.mailEvents {
            let key = String(describing: event).prefix(while: { $0 != "(" })
            events.counts.withLock { $0[String(key), default: 0] += 1 }
        }
    }

    let sinkGroup = ServiceGroup(services: [sink], logger: Logger(label: "mail-stall-services", factory: { _ in SwiftLogNoOpLogHandler() }))
    return try await withThrowingTaskGroup(of: Void.self) { services in
        services.addTask { try await sinkGroup.run() }
        let result = try await app.test(.live) { client in
            guard let port = client.port else { throw BenchError("the live test client has no port") }
            let visitor = Visitor()
            let password = "correct horse battery staple"
            let registration = FormFields.registration(username: "stall", email: "stall@bench.example.com", password: password)
            try await visitor.submit(client, "/register", registration)
            try await visitor.submit(client, "/login", FormFields.login(username: "stall", password: password))
            for post in 0..<5 {
                try await visitor.submit(client, "/index", [("post", "Seed post \(post)")], formPage: "/index")
            }
            let indexPage = try await visitor.send(client, "/index")
            guard let token = HTML.csrfToken(in: String(buffer: indexPage.body)) else { throw BenchError("no csrf_token on /index") }
            guard let cookie = visitor.jar.header else { throw BenchError("logged in without a cookie") }
            armed.value.store(true, ordering: .relaxed)
            let postBody = FormEncoding.encode([(FormFields.csrfTokenName, token), ("post", "This one fails")])

            // Warm-up (not recorded): a few hundred requests of the same mix, one failing POST checked.
            try await visitor.submit(client, "/index", [("post", "warm-up")], formPage: "/index", expect: 500)

            var generator = SimulationRandom(seed: 0x5EED)
            let plan = (0..<options.requests).map { _ in Int(generator.next() % 100) < options.postPercent }
            let next = Counter()
            let start = ContinuousClock.now
            let perWorker = try await withThrowingTaskGroup(of: ([UInt64], [UInt64], [Int: Int]).self) { workers in
                for _ in 0..<options.concurrency {
                    workers.addTask {
                        // One keep-alive connection per worker (HummingbirdTesting's TestClient: plain NIO HTTP/1.1,
                        // no redirects followed, no pooling).
                        try await TestClient.withClient(host: "127.0.0.1", port: port, configuration: .init(timeout: .seconds(120))) { connection in
                        var gets: [UInt64] = [], posts: [UInt64] = [], statuses: [Int: Int] = [:]
                        gets.reserveCapacity(options.requests / options.concurrency + 16)
                        while true {
                            let index = next.value.add(1, ordering: .relaxed).oldValue
                            guard index < plan.count else { break }
                            let isPost = plan[index]
                            let began = ContinuousClock.now
                            let request = isPost
                                ? TestClient.Request(
                                    "/index", method: .post, authority: "localhost",
                                    headers: [.cookie: cookie, .contentType: FormEncoding.contentType, .connection: "keep-alive"],
                                    body: ByteBuffer(string: postBody)
                                )
                                : TestClient.Request("/index", method: .get, authority: "localhost", headers: [.cookie: cookie, .connection: "keep-alive"])
                            let response = try await connection.execute(request)
                            let elapsed = began.duration(to: .now)
                            let nanos = UInt64(elapsed.components.seconds) * 1_000_000_000 + UInt64(elapsed.components.attoseconds / 1_000_000_000)
                            if isPost { posts.append(nanos) } else { gets.append(nanos) }
                            statuses[Int(response.head.status.code), default: 0] += 1
                        }
                        return (gets, posts, statuses)
                        }
                    }
                }
                var all: [([UInt64], [UInt64], [Int: Int])] = []
                for try await part in workers { all.append(part) }
                return all
            }
            let seconds = Double((start.duration(to: .now)).components.seconds) + Double(start.duration(to: .now).components.attoseconds) / 1e18
            var gets: [UInt64] = [], posts: [UInt64] = [], statuses: [Int: Int] = [:]
            for (g, p, s) in perWorker {
                gets += g
                posts += p
                statuses.merge(s, uniquingKeysWith: +)
            }
            let expectedGets = statuses[200] ?? 0
            let expectedPosts = statuses[500] ?? 0
            let unexpected = gets.count + posts.count - expectedGets - expectedPosts
            return CaseResult(
                name: name, all: gets + posts, gets: gets, posts: posts, statuses: statuses,
                unexpected: unexpected, seconds: seconds, mailEvents: ""
            )
        }
        // Stop the sink. With a stalled server its drain would wait out SMTP timeouts and retries: give it a
        // bounded moment, then cancel (the figures are already taken).
        await sinkGroup.triggerGracefulShutdown()
        services.addTask { try? await Task.sleep(for: .seconds(3)) }
        _ = try? await services.next()
        services.cancelAll()
        try? await services.waitForAll()
        try? await Task.sleep(for: .milliseconds(200))  // let the event stream hand over the drain's events
        eventTask.cancel()
        var finished = result
        finished.mailEvents = events.counts.withLock { $0.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ") }
        if finished.mailEvents.isEmpty { finished.mailEvents = "none" }
        // ERROR records over the log file and its backups (rotation keeps 10, so an old part may be gone).
        let files = (try? FileManager.default.contentsOfDirectory(atPath: logConfiguration.directory)) ?? []
        let errorLines = files.reduce(0) { count, file in
            count + ((try? String(contentsOfFile: logConfiguration.directory + "/" + file, encoding: .utf8))?
                .split(separator: "\n").filter { $0.contains(" ERROR: ") }.count ?? 0)
        }
        finished.mailEvents += "; ERROR lines in the retained log files: \(errorLines)"
        return finished
    }
}

func format(_ value: Double) -> String { String(format: "%.2f", value) }

let options: Options
do {
    options = try Options(CommandLine.arguments)
} catch {
    FileHandle.standardError.write(Data("microblog-mail-stall: \(error)\n".utf8))
    exit(64)
}

var results: [CaseResult] = []
for round in 1...options.rounds {
    // Odd rounds run "up" first, even rounds "stalled" first, so neither case always runs in a warmer process.
    let cases = [("up", options.upPort), ("stalled", options.stalledPort)]
    for (name, port) in round % 2 == 1 ? cases : cases.reversed() {
        FileHandle.standardError.write(Data("round \(round): SMTP \(name) (port \(port)), \(options.requests) requests, \(options.concurrency) workers...\n".utf8))
        let result = try await runCase(name: name, smtpPort: port, options: options)
        results.append(result)
        let all = result.summary(result.all), gets = result.summary(result.gets), posts = result.summary(result.posts)
        let rate = Double(result.all.count) / result.seconds
        print("""
        round \(round) SMTP \(name): \(result.all.count) requests in \(format(result.seconds)) s (\(Int(rate)) req/s), statuses \(result.statuses.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")), unexpected \(result.unexpected)
          all      p50 \(format(all.p50)) ms  p90 \(format(all.p90))  p99 \(format(all.p99))  p99.9 \(format(all.p999))  max \(format(all.max))
          GET 200  p50 \(format(gets.p50)) ms  p90 \(format(gets.p90))  p99 \(format(gets.p99))  p99.9 \(format(gets.p999))  max \(format(gets.max))  (n=\(gets.count))
          POST 500 p50 \(format(posts.p50)) ms  p90 \(format(posts.p90))  p99 \(format(posts.p99))  p99.9 \(format(posts.p999))  max \(format(posts.max))  (n=\(posts.count))
          mail: \(result.mailEvents)
        """)
        if options.json {
            let line: [String: Any] = [
                "round": round, "case": name, "requests": result.all.count, "seconds": result.seconds,
                "p50_ms": all.p50, "p99_ms": all.p99, "p999_ms": all.p999, "max_ms": all.max,
                "get_p99_ms": gets.p99, "post_p99_ms": posts.p99, "unexpected": result.unexpected,
            ]
            if let data = try? JSONSerialization.data(withJSONObject: line, options: [.sortedKeys]) {
                FileHandle.standardError.write(data + Data("\n".utf8))
            }
        }
    }
}
let ups = results.filter { $0.name == "up" }.map { $0.summary($0.all).p99 }
let stalls = results.filter { $0.name == "stalled" }.map { $0.summary($0.all).p99 }
func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}
let upMedian = median(ups), stallMedian = median(stalls)
let ratio = stallMedian / upMedian
print("p99 per round: up \(ups.map(format).joined(separator: ", ")) ms; stalled \(stalls.map(format).joined(separator: ", ")) ms")
print("median p99 up \(format(upMedian)) ms, stalled \(format(stallMedian)) ms: ratio \(String(format: "%.3f", ratio)) (target <= 1.10: \(ratio <= 1.10 ? "met" : "missed"))")
