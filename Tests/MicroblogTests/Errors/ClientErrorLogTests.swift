import Foundation
import Logging
import Testing
@testable import Microblog

/// A client's mistakes do not fill the log: each is a DEBUG record, and their counts are one INFO line a minute.
@Suite("Client errors in the log")
struct ClientErrorLogTests {
    @Test("After an ERROR, 10,000 requests for unknown URLs and 10,000 with bad remember-me cookies leave the ERROR and 'Microblog startup' in logs/microblog.log*")
    func scanKeepsTheRecordsThatMatter() async throws {
        var env = try TestEnvironment()
        defer { env.removeFiles() }
        env.databaseFaults = DatabaseFaults(betweenPostWrites: { throw InjectedFault() })
        let configuration = LogConfiguration(directory: env.directory.appendingPathComponent("logs").path)
        let environment = env

        try await withRunningSink(configuration) { sink in
            let app = try await buildApplication(
                configuration: environment.configuration,
                dependencies: AppDependencies(logger: sinkLogger(sink), databaseFaults: environment.databaseFaults)
            )
            try await app.test(.router) { client in
                // Given an ERROR record in the log
                let browser = Browser(client)
                try await browser.signUp("alice")
                #expect(try await browser.post("/index", [("post", "boom")]).status == .internalServerError)

                // When a scanner asks for 10,000 unknown URLs (and a few wrong methods)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for lane in 0..<4 {
                        group.addTask {
                            for index in stride(from: lane, to: 10_000, by: 4) {
                                let status = try await client.executeRequest(uri: "/wp-admin/\(index).php", method: .get, headers: [:], body: nil).status
                                if status != .notFound { Issue.record("\(index): \(status)") }
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                #expect(try await client.executeRequest(uri: "/logout", method: .get, headers: [:], body: nil).status == .methodNotAllowed)

                // And 10,000 pages asked for with remember-me cookies that name no token
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for lane in 0..<4 {
                        group.addTask {
                            for index in stride(from: lane, to: 10_000, by: 4) {
                                let page = try await client.executeRequest(
                                    uri: "/index", method: .get, headers: [.cookie: "remember_token=scan\(index).x"], body: nil
                                )
                                if page.status != .found { Issue.record("\(index): \(page.status)") }
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }
        }

        // Then the records that matter are still there, and the scan is one summary line
        let files = try FileManager.default.contentsOfDirectory(atPath: configuration.directory).filter { $0.hasPrefix("microblog.log") }
        let lines = files.flatMap { readLines(configuration.directory + "/" + $0) }
        #expect(lines.contains { $0.contains(" INFO: Microblog startup") }, "\(files)")
        #expect(lines.contains { $0.contains(" ERROR: Exception on POST /index") })
        #expect(!lines.contains { $0.contains("/wp-admin/") }, "no line per unknown URL")
        #expect(!lines.contains { $0.contains("WARNING") }, "no line per bad remember-me cookie")
        // One line a minute and one at shutdown: on a slow machine the scan may straddle a minute.
        let summaries = lines.filter { $0.contains(" INFO: Error pages in the last 60 seconds:") }
        #expect((1...3).contains(summaries.count), "\(summaries)")
        var counts: [String: Int] = [:]
        for line in summaries {
            for match in line.matches(of: /(\d{3}|invalid remember-me cookie) x (\d+)/) {
                counts[String(match.1), default: 0] += Int(match.2) ?? 0
            }
        }
        #expect(counts == ["404": 10000, "405": 1, "invalid remember-me cookie": 10000], "\(summaries)")
    }

    @Test("The summary line lists the counts by status, and nothing when there were none")
    func summaryLine() {
        #expect(ClientErrorSummary.line([404: 3, 400: 1, 429: 12], interval: .seconds(60))
            == "Error pages in the last 60 seconds: 400 x 1, 404 x 3, 429 x 12")
        #expect(ClientErrorSummary.line([:], interval: .seconds(60)) == nil)
        #expect(ClientErrorSummary.line([404: 2], mistakes: [.invalidRememberCookie: 7], interval: .seconds(60))
            == "Error pages in the last 60 seconds: 404 x 2, invalid remember-me cookie x 7")
    }
}
