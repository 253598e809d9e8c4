import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore

/// `microblog-stress`: drives any server speaking the microblog HTTP contract (this one or the Flask original)
/// to reproduce the duplicate-username race (`race`) or to load it at a constant rate (`load`).
@main
struct MicroblogStress: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "microblog-stress",
        abstract: "Race and load a microblog server over HTTP (loopback only).",
        subcommands: [Race.self, Load.self]
    )
}

/// Options every mode takes.
struct CommonOptions: ParsableArguments {
    @Option(help: "The server, e.g. http://127.0.0.1:8080.")
    var url: String = "http://127.0.0.1:8080"

    @Flag(help: "Print one JSON line on stdout (the text report goes to stderr).")
    var json = false

    @Option(help: "Seconds one request may take before it counts as a transport error.")
    var timeout: Int = 30

    @Option(help: "Concurrent requests while registering and logging in the users (bcrypt is slow).")
    var setupConcurrency: Int = 8

    @Option(help: "A prefix for the names this run creates (default: random, so runs never collide).")
    var prefix: String?

    @Option(help: ArgumentHelp(
        "The server's Prometheus endpoint (its METRICS_PORT), e.g. http://127.0.0.1:9464/metrics.",
        discussion: "Scraped before and after the run and reconciled with what the tool saw; a mismatch exits with status 3."
    ))
    var metricsURL: String?

    @Flag(help: .hidden)
    var allowRemote = false

    func validateCommon() throws {
        if let metricsURL { _ = try Site.checkedBaseURL(metricsURL, allowRemote: allowRemote) }
        guard (1...600).contains(timeout) else { throw ValidationError("--timeout must be 1...600 seconds") }
        guard (1...256).contains(setupConcurrency) else { throw ValidationError("--setup-concurrency must be 1...256") }
        if let prefix, prefix.isEmpty || prefix.count > 24 || !prefix.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) {
            throw ValidationError("--prefix must be 1...24 ASCII letters or digits")
        }
    }

    /// The run's prefix: given, or `s` and six random letters and digits.
    var runPrefix: String {
        if let prefix { return prefix }
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        return "s" + String((0..<6).map { _ in alphabet.randomElement()! })
    }

    /// Reads the server's counters at `--metrics-url`, if given.
    func scrape(_ site: Site) async throws -> Reconciliation.Scrape? {
        guard let metricsURL else { return nil }
        return try await Reconciliation.Scrape.fetch(metricsURL, client: site.client)
    }

    /// Runs `body` with a client sized for `connections`, shutting it down afterwards whatever happens.
    func withSite<T: Sendable>(connections: Int, _ body: (Site) async throws -> T) async throws -> T {
        let base = try Site.checkedBaseURL(url, allowRemote: allowRemote)
        let client = Site.makeClient(connections: connections)
        let site = Site(client: client, baseURL: base, timeout: .seconds(Int64(timeout)))
        do {
            let result = try await body(site)
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }
}

/// A registered, logged-in user with their own cookie jar.
struct Account: Sendable {
    let visitor: Visitor
    var username: String
    let password: String
}

extension Site {
    /// Registers and logs in `count` users named `<prefix>u<i>`, `concurrency` at a time.
    /// - Throws: ``StressError/setupFailed(_:)`` when a registration or login does not answer 302.
    func makeAccounts(prefix: String, tag: String, count: Int, concurrency: Int) async throws -> [Account] {
        let site = self
        return try await concurrentMap(Array(0..<count), limit: concurrency) { _, index in
            let visitor = Visitor(site: site)
            let username = "\(prefix)\(tag)\(index)"
            let password = "pw-\(prefix)-\(tag)-\(index)"
            let answer = try await visitor.register(username: username, email: "\(username)@stress.example.com", password: password)
            guard answer.outcome == .success else {
                throw StressError.setupFailed("registering \(username) answered \(answer.status), not 302")
            }
            guard try await visitor.logIn(username: username, password: password) else {
                throw StressError.setupFailed("logging in \(username) did not answer 302")
            }
            return Account(visitor: visitor, username: username, password: password)
        }
    }
}
