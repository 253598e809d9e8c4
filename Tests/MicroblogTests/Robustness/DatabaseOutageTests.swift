import Foundation
import HTTPTypes
import Testing
@testable import Microblog

/// PostgreSQL out of reach. The server answers 503 (with Retry-After), never 500, while it cannot
/// reach the database, and recovers by itself once the database is back. The outage is a proxy between the
/// server and the test cluster that the test switches off and on (the cluster itself is shared by other tests).
@Suite("PostgreSQL outage", .timeLimit(.minutes(5)))
struct DatabaseOutageTests {
    @Test("A database server that cannot be reached at start is refused as unavailable, not a crash")
    func unreachableAtStart() async throws {
        var settings = try Backend.postgresAdminURL()
        // A port that was free a moment ago: nothing listens there.
        let closed = try await SwitchableProxy.with(toHost: settings.host, port: settings.port) { $0.port }
        settings.port = closed
        settings.connectTimeout = .seconds(2)
        await #expect(throws: StoreError.unavailable(.unreachable)) {
            _ = try await PostgresStore.open(settings, logger: .init(label: "test"))
        }
    }

    @Test("A database server that accepts connections but never answers at start is refused within the timeouts")
    func silentAtStart() async throws {
        let admin = try Backend.postgresAdminURL()
        try await SwitchableProxy.with(toHost: admin.host, port: admin.port) { proxy in
            proxy.stall()
            var settings = admin
            settings.port = proxy.port
            settings.connectTimeout = .seconds(2)
            settings.queryTimeout = .seconds(2)
            let start = ContinuousClock.now
            await #expect(throws: StoreError.unavailable(.unreachable)) {
                _ = try await PostgresStore.open(settings, logger: .init(label: "test"))
            }
            let waited = ContinuousClock.now - start
            // Connect plus query timeout (4 s), with room for a loaded machine; without a deadline it never ends.
            #expect(waited < .seconds(16), "refused after \(waited)")
        }
    }

    /// How the database goes away.
    enum Outage: String, CaseIterable, CustomTestStringConvertible {
        /// Connections closed and refused, as a server that is down.
        case refused
        /// Connections kept open and every byte dropped, as a host that vanished: nothing ever answers.
        case stalled

        var testDescription: String { rawValue }
    }

    @Test("Database unreachable: 503 with Retry-After within the query timeout, no 500, /healthz 503; pages work again when it is back", arguments: Outage.allCases)
    func outageAndRecovery(_ outage: Outage) async throws {
        let base = try await TestEnvironment(.postgres)
        defer { base.removeFiles() }
        let target = try #require(base.configuration.postgres)
        try await SwitchableProxy.with(toHost: target.host, port: target.port) { proxy in
            // Migrated before the server starts through the proxy, so the start does little.
            try await base.withStore { _ in }
            var env = base
            env.configuration.postgres?.port = proxy.port
            // Each page during the outage waits for this once (the session load).
            let queryTimeout = Duration.seconds(3)
            env.configuration.postgres?.queryTimeout = queryTimeout
            env.configuration.postgres?.connectTimeout = queryTimeout
            try await env.withLiveServer { live in
                let browser = Browser(live)
                try await browser.signUp("steady")
                #expect(try await browser.get("/index").status == .ok)

                switch outage {
                case .refused: proxy.switchOff()
                case .stalled: proxy.stall()
                }
                let off = ContinuousClock.now
                for _ in 0..<2 {
                    let asked = ContinuousClock.now
                    let page = try await browser.get("/index")
                    let waited = ContinuousClock.now - asked
                    #expect(page.status == .serviceUnavailable, "\(page.status)")
                    #expect(page.headers[.retryAfter] != nil)
                    // Bounded by the query timeout (with room for a loaded machine), not by TCP's own timeouts.
                    #expect(waited < queryTimeout * 4, "a page during the outage took \(waited)")
                }
                // The health check says so too, at its own deadline.
                let probed = ContinuousClock.now
                #expect(try await Browser(live).get("/healthz").status == .serviceUnavailable)
                #expect(ContinuousClock.now - probed < queryTimeout * 4)

                proxy.switchOn()
                let on = ContinuousClock.now
                // The pool reconnects with a backoff: ask again (each answer is bounded by the query timeout)
                // until a page is served; every answer meanwhile is a 503, never a 500.
                var recovered = false
                var unavailable = 0
                for _ in 0..<60 where !recovered {
                    let page = try await browser.get("/index")
                    #expect(page.status == .ok || page.status == .serviceUnavailable, "\(page.status)")
                    recovered = page.status == .ok
                    unavailable += recovered ? 0 : 1
                }
                #expect(recovered, "the server serves pages again once the database is back")
                #expect(try await Browser(live).get("/healthz").status == .ok)
                print("outage (\(outage)): 2 pages 503 in \(on - off); back after \(ContinuousClock.now - on) and \(unavailable) more 503s")
            }
        }
    }
}
