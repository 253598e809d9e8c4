import Foundation
import HTTPTypes
import MicroblogClient
import NIOCore
import Testing
@testable import Microblog

/// The deployment the README's "Deploying" describes, run for real: Debian's nginx from `deploy/nginx-microblog.conf`
/// (TLS with a certificate openssl makes for the run) in front of two instances of the real executable on one
/// PostgreSQL database, configured as the docs say (`TRUSTED_PROXIES`, `PUBLIC_URL`).
@Suite("Deployed behind nginx", .serialized, .timeLimit(.minutes(5)))
struct DeploymentTests {
    /// nginx and the two instances behind it.
    final class Deployment {
        let env: TestEnvironment
        let nginx: Nginx
        let upstreams: [Int]
        let environment: [String: String]
        private(set) var instances: [ServerProcess]

        private init(env: TestEnvironment, nginx: Nginx, upstreams: [Int], environment: [String: String], instances: [ServerProcess]) {
            self.env = env
            self.nginx = nginx
            self.upstreams = upstreams
            self.environment = environment
            self.instances = instances
        }

        /// Starts the instances (with `settings` added to the docs' configuration) on nginx's upstream ports, the last
        /// `instanceCount` of the two, then nginx.
        static func start(_ settings: [String: String] = [:], instanceCount: Int = 2) async throws -> Deployment {
            let env = try await TestEnvironment(.postgres)
            let ports = try unusedPorts(4)
            let (https, redirect, upstreams) = (ports[0], ports[1], Array(ports[2...]))
            let environment = env.serverEnvironment.merging([
                "TRUSTED_PROXIES": "127.0.0.1",
                "PUBLIC_URL": "https://localhost:\(https)",
                // Each request's log line says that an instance serves again after a restart.
                "LOG_LEVEL": "debug",
                "LOG_MAX_BYTES": "1048576",
            ].merging(settings) { $1 }) { $1 }
            var instances: [ServerProcess] = []
            for port in upstreams.suffix(instanceCount) {
                instances.append(try await Self.startInstance(port: port, environment: environment, env: env))
            }
            let nginx = try await Nginx.start(port: https, redirectPort: redirect, upstreams: upstreams)
            return Deployment(env: env, nginx: nginx, upstreams: upstreams, environment: environment, instances: instances)
        }

        private static func startInstance(port: Int, environment: [String: String], env: TestEnvironment) async throws -> ServerProcess {
            try await ServerProcess.start(
                environment: environment.merging(["PORT": String(port), "LOG_DIR": env.directory.appendingPathComponent("logs-\(port)").path]) { $1 },
                workingDirectory: env.directory
            )
        }

        /// A visitor at `source` (a loopback address of its own) through nginx.
        func visitor(_ source: String = "127.0.0.1") throws -> Browser {
            Browser(try TLSTransport(port: nginx.port, certificate: nginx.certificate, source: source))
        }

        /// Stops instance `index` with SIGTERM, waits for it to exit, and starts it again on the same port; returns
        /// the stopped process, for its output.
        @discardableResult
        func restart(_ index: Int) async throws -> ServerProcess {
            let old = instances[index]
            old.process.terminate()
            try await old.waitForExit()
            instances[index] = try await Self.startInstance(port: upstreams[index], environment: environment, env: env)
            return old
        }

        func stop() {
            nginx.stop()
            for instance in instances { instance.stop() }
            env.removeFiles()
        }
    }

    /// Logs in `name` from `visitor` with `password`, sending the browser's `Origin` (and any `extra` header).
    static func login(_ visitor: Browser, origin: String, as name: String, password: String, extra: HTTPFields = [:]) async throws -> Page {
        let token = try await visitor.csrfToken(from: "/login")
        var headers = extra
        headers[.origin] = origin
        headers[.contentType] = FormEncoding.contentType
        Artifacts.secret(password, kind: "password")
        let body = FormEncoding.encode(FormFields.login(csrfToken: token, username: name, password: password))
        return try await visitor.send("/login", method: .post, headers: headers, body: ByteBuffer(string: body))
    }

    /// Every post of `username`, read from the database.
    static func postBodies(of username: String, in env: TestEnvironment) async throws -> [String] {
        try await env.withStore { store in
            guard let user = try await store.user(usernameKey: IdentityKey(username)) else { return [] }
            return try await store.newestPosts(byAuthor: user.id, perPage: 1_000_000).items.map(\.body)
        }
    }

    @Test("Through nginx: 60 failed logins from 60 addresses lock nobody else out; one address is limited alone, forged X-Forwarded-For or not")
    func throttleSeesEachVisitor() async throws {
        let site = try await Deployment.start([
            "LOGIN_ATTEMPTS_PER_CLIENT": "50", "LOGIN_ATTEMPTS_PER_ACCOUNT": "5",
        ])
        defer { site.stop() }
        let origin = site.nginx.origin
        let bystander = try site.visitor("127.0.0.200")
        #expect(try await bystander.register("bystander").status == .found)

        for visitor in 0..<60 {
            let page = try await Self.login(try site.visitor("127.0.0.\(visitor + 10)"), origin: origin, as: "nobody\(visitor)", password: "guess")
            #expect(page.status == .ok, "visitor \(visitor): \(page.status)")
        }
        #expect(try await Self.login(bystander, origin: origin, as: "bystander", password: "pw-bystander-pw").status == .found)

        let noisy = try site.visitor("127.0.0.7")
        for attempt in 0..<50 {
            #expect(try await Self.login(noisy, origin: origin, as: "someone\(attempt)", password: "guess").status == .ok)
        }
        #expect(try await Self.login(noisy, origin: origin, as: "someone", password: "guess").status == .tooManyRequests)
        let forged = try await Self.login(
            noisy, origin: origin, as: "someone", password: "guess", extra: [.xForwardedFor: "203.0.113.5"]
        )
        #expect(forged.status == .tooManyRequests, "nginx appends the real address; the site counts the rightmost untrusted hop")
        #expect(try await Self.login(try site.visitor("127.0.0.8"), origin: origin, as: "someone", password: "guess").status == .ok)
        #expect(
            site.instances.contains { $0.outputText.contains("Login throttled") && $0.outputText.contains("client=127.0.0.7") },
            "the log names the visitor, not the proxy"
        )
    }

    @Test("Headless Chromium over https through nginx, two instances: register, log in with remember me, post, edit the profile, log out; every cookie Secure")
    func browserOverHTTPS() async throws {
        let site = try await Deployment.start()
        defer { site.stop() }
        let directory = site.env.directory
        let reportFile = directory.appendingPathComponent("browser-report.json")
        let (status, output) = try await BrowserTests.runScript(
            python: SMTPTestServer.python,
            arguments: [
                site.nginx.origin, "--secure",
                "--user-data-dir", directory.appendingPathComponent("chromium-profile").path,
                "--report", reportFile.path,
            ],
            log: directory.appendingPathComponent("browser-check.log")
        )
        print("browser check over https: \(output.trimmingCharacters(in: .whitespacesAndNewlines))")
        #expect(status == 0, "browser_check.py exited \(status):\n\(output)")
        guard status == 0 else { return }
        let report = try JSONDecoder().decode(BrowserTests.Report.self, from: Data(contentsOf: reportFile))
        let stored = try await Self.postBodies(of: report.username, in: site.env)
        #expect(Set(stored) == Set(report.posts), "the posts the browser typed, stored through either instance")
    }

    @Test("A post whose connection closes unanswered (an instance closing an idle connection as nginx sends on it) is retried on the other instance, once")
    func unansweredPostIsRetried() async throws {
        let site = try await Deployment.start(instanceCount: 1)
        defer { site.stop() }
        let closing = try await UnansweringServer.start(port: site.upstreams[0])
        let author = try site.visitor()
        try await author.signUp("author")
        let token = try await author.csrfToken(from: "/index")
        // Posts only: nginx takes the two upstreams in turn, so every other one goes to the closing listener first.
        for number in 1...6 {
            let fields = [(FormFields.csrfTokenName, token), ("post", "retried-\(number)"), ("submit", "Submit")]
            let page = try await author.send(
                "/index", method: .post, headers: [.contentType: FormEncoding.contentType, .origin: site.nginx.origin],
                body: ByteBuffer(string: FormEncoding.encode(fields))
            )
            #expect(page.status == .found && page.location == "/index", "post \(number): \(page.status)")
        }
        await closing.stop()
        let stored = try await Self.postBodies(of: "author", in: site.env).filter { $0.hasPrefix("retried-") }
        #expect(stored.sorted() == (1...6).map { "retried-\($0)" }, "each post stored once: \(stored)")
    }

    @Test("Rolling restart under wrk through nginx: each instance in turn stops on SIGTERM and starts again; 0 failed requests, every acknowledged post stored once")
    func rollingRestart() async throws {
        let site = try await Deployment.start()
        defer { site.stop() }
        let author = try site.visitor()
        try await author.signUp("author")
        let session = try #require(author.cookie("session"))
        let token = try await author.csrfToken(from: "/index")
        let load = try RollingLoad.start(
            url: site.nginx.origin + "/index", cookie: "session=\(session)", csrfToken: token, origin: site.nginx.origin,
            prefix: "rolling", directory: site.env.directory
        )
        // Both instances serve the load (100 requests each) before the first one stops.
        for instance in site.instances { try await instance.waitForOutput("hb.request.path=/index", occurrences: 100) }
        var figures: [String] = []
        for index in site.instances.indices {
            let before = site.nginx.requestsServed()
            let stopped = try await site.restart(index)
            #expect(stopped.process.terminationStatus == 0, "\(stopped.outputText.suffix(1000))")
            // Back in nginx's rotation: the new process has served 100 requests of the load.
            try await site.instances[index].waitForOutput("hb.request.path=/index", occurrences: 100)
            let drain = stopped.outputText.components(separatedBy: "Microblog stopped ").last.map { String($0.prefix(while: \.isNumber)) } ?? "?"
            figures.append("instance \(index + 1): drained in \(drain) ms, \(site.nginx.requestsServed() - before) requests from its SIGTERM until it had served 100")
        }
        let result = try await load.stop()
        print("rolling restart: \(figures.joined(separator: "; ")); \(result.line)")
        #expect(result.failures == 0, "\(result.line)\nnginx: \(site.nginx.process.outputText.suffix(3000))")
        #expect(result.acknowledged > 0, "\(result.line)")

        // wrk numbers its posts 2, 4, 6, ... in the order it sends them, and stops with up to one request in flight on
        // each of its 8 connections: those may be stored or not, unacknowledged. Every other post it sent was
        // answered 302 (no failures), so all of them must be stored, with no gap and nothing twice.
        let posted = try await Self.postBodies(of: "author", in: site.env).filter { $0.hasPrefix("rolling-1-") }
        let numbers = posted.compactMap { Int($0.dropFirst("rolling-1-".count)) }.sorted()
        #expect(Set(numbers).count == numbers.count && numbers.count == posted.count, "no post is stored twice")
        #expect(
            (result.acknowledged...(result.acknowledged + 8)).contains(numbers.count),
            "\(numbers.count) stored, \(result.acknowledged) acknowledged"
        )
        let lastSent = numbers.last ?? 0
        let missing = stride(from: 2, through: lastSent - 2 * 8, by: 2).filter { !Set(numbers).contains($0) }
        #expect(missing.isEmpty, "posts sent before the last 8 and not stored: \(missing.prefix(20))")
    }

    @Test("Through nginx: an http:// or foreign Origin is refused, the site's own is not; a name nginx does not serve never reaches the site")
    func origins() async throws {
        let site = try await Deployment.start()
        defer { site.stop() }
        let alice = try site.visitor()
        #expect(try await alice.register("alice").status == .found)
        func login(origin: String) async throws -> HTTPResponse.Status {
            try await Self.login(try site.visitor(), origin: origin, as: "alice", password: "pw-alice-pw").status
        }
        #expect(try await login(origin: "http://localhost:\(site.nginx.port)") == .forbidden)
        #expect(try await login(origin: "https://evil.example") == .forbidden)
        #expect(try await login(origin: site.nginx.origin) == .found)

        let foreign = try await alice.send("/login", method: .get, headers: [HTTPField.Name("Host")!: "rebound.example"], body: nil)
        #expect(foreign.status != .ok && !foreign.contains("csrf_token"), "\(foreign.status): \(foreign.body.prefix(300))")
    }
}
