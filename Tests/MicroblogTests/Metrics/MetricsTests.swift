import Foundation
import HTTPTypes
import Logging
import MicroblogClient
import Prometheus
import Testing
@testable import Microblog

/// The application's own metrics move with what happens, and only the metrics listener shows them.
@Suite("Metrics")
struct MetricsTests {
    static let won = #"microblog_registry_claims_total{field="username",outcome="won"}"#
    static let rejected = #"microblog_registry_claims_total{field="username",outcome="rejected"}"#
    static let conflict = #"microblog_registry_claims_total{field="username",outcome="conflict"}"#

    @Test("A 16-way rename race moves won by exactly 1 and rejected + conflict by 15; the pool gauge is back at 0", arguments: Backend.all)
    func renameRace(backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        let registry = PrometheusCollectorRegistry()
        let app = try await buildApplication(
            configuration: env.configuration,
            dependencies: AppDependencies(logger: env.logger, prometheus: registry)
        )
        try await app.test(.router) { client in
            var browsers: [Browser] = []
            for index in 0..<16 {
                let browser = Browser(client)
                try await browser.signUp("racer\(index)")
                browsers.append(browser)
            }
            let tokens = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for (index, browser) in browsers.enumerated() {
                    group.addTask { (index, try await browser.csrfToken(from: "/edit_profile")) }
                }
                return try await group.reduce(into: [Int: String]()) { $0[$1.0] = $1.1 }
            }
            let before = Scrape(registry)
            let pages = try await withThrowingTaskGroup(of: Page.self) { group in
                for (index, browser) in browsers.enumerated() {
                    let token = tokens[index]!
                    group.addTask {
                        let fields = FormFields.editProfile(csrfToken: token, username: "Popular", aboutMe: "")
                        return try await browser.post("/edit_profile", fields, csrf: false)
                    }
                }
                return try await group.reduce(into: [Page]()) { $0.append($1) }
            }
            let after = Scrape(registry)
            #expect(pages.filter { $0.status == .found }.count == 1)
            #expect(pages.filter { $0.status == .ok && $0.contains("Please use a different username.") }.count == 15)
            #expect(after[Self.won] - before[Self.won] == 1)
            #expect((after[Self.rejected] + after[Self.conflict]) - (before[Self.rejected] + before[Self.conflict]) == 15)
            // The pool's gauge exists on PostgreSQL only, and every leased connection was given back.
            let inUse = after.samples["microblog_database_connections_in_use"]
            #expect(backend == .postgres ? inUse == 0 : inUse == nil, "\(String(describing: inUse))")
        }
    }

    @Test("A 500 moves the 500 counter and, once the mail is sent over real SMTP, the mail counter")
    func serverFault() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let smtp = try await SMTPTestServer.start(in: directory)
        defer { smtp.stop() }
        var env = try TestEnvironment()
        defer { env.removeFiles() }
        env.databaseFaults = DatabaseFaults(betweenPostWrites: { throw InjectedFault() })
        let registry = PrometheusCollectorRegistry()
        let factory = PrometheusMetricsFactory.microblog(registry: registry)
        let sink = LogSink(
            configuration: LogConfiguration(directory: directory.file("logs")),
            mail: MailConfiguration(server: "localhost", port: smtp.port, admins: ["admin@example.com"]),
            mailPolicy: MailPolicy(coalescingWindow: .milliseconds(50)),
            metrics: LogSinkMetrics(factory: factory)
        )
        let environment = env
        try await withRunning(sink) { sink in
            let app = try await buildApplication(
                configuration: environment.configuration,
                dependencies: AppDependencies(logger: sinkLogger(sink), databaseFaults: environment.databaseFaults, prometheus: registry)
            )
            try await app.test(.router) { client in
                let browser = Browser(client)
                try await browser.signUp("alice")
                #expect(try await browser.post("/index", [("post", "boom")]).status == .internalServerError)
            }
            await sink.waitUntilIdle()
        }
        let scrape = Scrape(registry)
        #expect(scrape[#"microblog_error_pages_total{status="500"}"#] == 1)
        #expect(scrape[#"microblog_mail_total{outcome="sent"}"#] == 1)
        #expect(scrape[#"microblog_mail_total{outcome="failed"}"#] == 0)
        #expect(scrape[#"microblog_mail_queue_depth"#] == 0)
        #expect(scrape[#"microblog_log_records_total{outcome="written"}"#] >= 2, "the startup and the ERROR at least")
        #expect(try smtp.messages().count == 1)
    }

    @Test("Records dropped from a full log buffer are counted")
    func droppedRecords() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let registry = PrometheusCollectorRegistry()
        let sink = LogSink(
            configuration: LogConfiguration(directory: directory.file("logs"), bufferCapacity: 4),
            mail: nil,
            metrics: LogSinkMetrics(factory: PrometheusMetricsFactory.microblog(registry: registry))
        )
        // Given a buffer of 4 that nobody consumes yet, 10 records: 6 are dropped
        let logger = sinkLogger(sink)
        for index in 0..<10 { logger.info("record \(index)") }
        try await withRunning(sink) { sink in await sink.flush() }
        let scrape = Scrape(registry)
        #expect(scrape[#"microblog_log_records_total{outcome="dropped"}"#] == 6)
        #expect(readLines(directory.file("logs") + "/microblog.log").contains { $0.contains("6 log records were dropped") })
    }

    @Test("GET /metrics is not on the public listener; the metrics listener serves it when METRICS_PORT is set")
    func listeners() async throws {
        let env = try TestEnvironment()
        defer { env.removeFiles() }
        var environment = env.serverEnvironment
        environment["METRICS_PORT"] = "0"
        let server = try await ServerProcess.start(environment: environment, workingDirectory: env.directory)
        defer { server.stop() }
        let metricsPort = try await server.port(announcedAs: "Metrics listening on")
        #expect(metricsPort != server.port)
        try await LiveClient.with(port: server.port) { live async throws in
            let browser = Browser(live)
            #expect(try await browser.register("alice").status == .found)
            #expect(try await browser.get("/metrics").status == .notFound)
        }
        try await LiveClient.with(port: metricsPort) { live async throws in
            let page = try await Browser(live).get("/metrics")
            #expect(page.status == .ok)
            #expect(page.headers[.contentType]?.hasPrefix("text/plain") == true)
            let scrape = Scrape(text: page.body)
            #expect(scrape[Self.won] == 1, "\(page.body.prefix(2000))")
            #expect(scrape.samples.keys.contains { $0.hasPrefix("hb_requests{") }, "Hummingbird's request metrics")
            #expect(!page.body.contains("alice"), "no user names in labels")
        }
        #expect(server.outputText.contains("Metrics listening on http://127.0.0.1:\(metricsPort)/metrics"))
    }
}

@Suite("Health check")
struct HealthTests {
    @Test("GET /healthz is 200 while the store answers, 503 once the database file is gone", arguments: Backend.all)
    func health(backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        try await env.withApp { client in
            let healthy = try await Browser(client).get("/healthz")
            #expect(healthy.status == .ok)
            #expect(healthy.body == "ok\n")
            guard backend == .sqlite else { return }
            for suffix in ["", "-wal", "-shm"] {
                try? FileManager.default.removeItem(atPath: env.configuration.databasePath + suffix)
            }
            let gone = try await Browser(client).get("/healthz")
            #expect(gone.status == .serviceUnavailable)
            #expect(gone.body == "unavailable\n")
        }
    }
}

@Suite("The microblog command")
struct CommandTests {
    @Test("microblog --help exits 0 and lists the flags; --version prints the version")
    func help() async throws {
        for (arguments, expected) in [
            (["--help"], ["--hostname", "--port", "--log-level", "--version", "METRICS_PORT"]),
            (["--version"], [MicroblogVersion.current]),
        ] {
            let process = ChildProcess()
            process.executableURL = ServerProcess.executableURL
            process.arguments = arguments
            let output = Pipe()
            process.standardOutput = output
            process.standardError = output
            let status = try await run(process)
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(status == 0, "\(arguments): \(text)")
            for word in expected { #expect(text.contains(word), "\(arguments): \(text)") }
        }
    }

    @Test("--port 0 serves on the port the kernel chose and says which; flags win over the environment")
    func portZero() async throws {
        let env = try TestEnvironment()
        defer { env.removeFiles() }
        var environment = env.serverEnvironment
        environment["PORT"] = "1"  // a port the server could not bind as a test user: the flag must win
        let server = try await ServerProcess.start(environment: environment, workingDirectory: env.directory, arguments: ["--port", "0"])
        defer { server.stop() }
        #expect(server.port > 1)
        try await LiveClient.with(port: server.port) { live async throws in
            #expect(try await Browser(live).get("/login").status == .ok)
        }
    }
}
