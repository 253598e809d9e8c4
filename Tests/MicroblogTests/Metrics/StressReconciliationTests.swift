import CoreMetrics
import Foundation
import Prometheus
import Testing
@testable import Microblog

/// `microblog-stress --metrics-url` sets the server's counters against what it saw: it passes against an honest
/// server and fails against one made to count wrong.
@Suite("microblog-stress reconciles with the server's metrics")
struct StressReconciliationTests {
    @Test("A rename race reconciles against a live server; a server that counts one win too many per claim fails it", .timeLimit(.minutes(5)))
    func reconciliation() async throws {
        let honest = try await Self.race(miscount: false)
        #expect(honest.status == 0, "\(honest.output)")
        #expect(honest.output.contains("reconcile: winners / claims won: seen 2, counted 2  ok"), "\(honest.output)")
        #expect(honest.output.contains("reconcile: \"taken\" answers / claims rejected + conflict: seen 10, counted 10  ok"), "\(honest.output)")

        let miscounting = try await Self.race(miscount: true)
        #expect(miscounting.status == 3, "\(miscounting.output)")
        #expect(miscounting.output.contains("claims won: seen 2, counted") && miscounting.output.contains("MISMATCH"), "\(miscounting.output)")
    }

    /// Runs a 6-user, 2-round rename race against a live server with its metrics listener; with `miscount`, every
    /// claim that reaches the database also adds a win of its own (the injected fault).
    static func race(miscount: Bool) async throws -> (status: Int32, output: String) {
        var env = try TestEnvironment()
        defer { env.removeFiles() }
        // Port 0: the kernel picks the metrics listener's port, which it announces in the log.
        env.configuration.metricsPort = 0
        let registry = PrometheusCollectorRegistry()
        if miscount {
            let won = Counter(
                label: "microblog_registry_claims_total",
                dimensions: [("field", "username"), ("outcome", "won")],
                factory: PrometheusMetricsFactory.microblog(registry: registry)
            )
            env.registryHooks = RegistryHooks(beforePersist: { _ in won.increment() })
        }
        let watcher = LogWatcher()
        let app = try await buildApplication(
            configuration: env.configuration,
            dependencies: AppDependencies(logger: watcher.logger(), registryHooks: env.registryHooks, prometheus: registry)
        )
        return try await app.test(.live) { server in
            let metricsPort = try #require(await watcher.port(announcedAs: "Metrics listening on"), "the metrics listener announced no port")
            let process = ChildProcess()
            process.executableURL = ServerProcess.executableURL.deletingLastPathComponent().appendingPathComponent("microblog-stress")
            process.arguments = [
                "race", "--url", "http://127.0.0.1:\(server.port ?? 0)", "--metrics-url", "http://127.0.0.1:\(metricsPort)/metrics",
                "--users", "6", "--rounds", "2", "--kind", "rename", "--timeout", "60",
            ]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = output
            let status = try await run(process)
            return (status, String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
        }
    }
}
