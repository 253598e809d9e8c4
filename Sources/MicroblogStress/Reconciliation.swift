import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The server's own counters (its Prometheus `/metrics`), read before and after a run and set against what the
/// tool saw: every 5xx it got is a 5xx error page the server counted, every winner a `won` claim, every "taken"
/// a `rejected` or `conflict` one. A difference means one of the two miscounts.
struct Reconciliation: Sendable, Codable {
    /// One reading of `/metrics`: each sample's value by its name and labels.
    struct Scrape: Sendable {
        var samples: [String: Double]

        /// Fetches and parses the text exposition format.
        static func fetch(_ url: String, client: HTTPClient) async throws -> Scrape {
            let response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
            guard response.status.code == 200 else {
                throw StressError.protocolViolation("GET \(url) answered \(response.status.code)")
            }
            let body = try await response.body.collect(upTo: 16 << 20)
            return Scrape(text: String(buffer: body))
        }

        init(text: String) {
            samples = [:]
            for line in text.split(separator: "\n") where !line.hasPrefix("#") {
                guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
                samples[String(line[..<space])] = value
            }
        }

        subscript(_ name: String) -> Double { samples[name] ?? 0 }

        /// The sum of the samples whose name and labels start with `prefix`.
        func sum(prefix: String) -> Double {
            samples.filter { $0.key.hasPrefix(prefix) }.values.reduce(0, +)
        }

        var serverErrorPages: Double {
            sum(prefix: #"microblog_error_pages_total{status="5"#)
        }
    }

    /// One comparison: what the tool counted and what the server's counters moved by.
    struct Check: Sendable, Codable {
        var what: String
        var seen: Int
        var counted: Int
        var ok: Bool { seen == counted }
    }

    var checks: [Check]
    var ok: Bool { checks.allSatisfy(\.ok) }

    enum CodingKeys: String, CodingKey { case checks }

    /// Compares the client-seen 5xx with the server's 5xx error pages and, for a race, the winners and "taken"
    /// answers with the username claims `won` and `rejected` + `conflict`.
    init(before: Scrape, after: Scrape, serverErrors: Int, winners: Int?, rejections: Int?) {
        func delta(_ value: (Scrape) -> Double) -> Int { Int((value(after) - value(before)).rounded()) }
        checks = [Check(what: "5xx answers / microblog_error_pages_total{status=5xx}", seen: serverErrors, counted: delta(\.serverErrorPages))]
        let claims = "microblog_registry_claims_total{field=\"username\",outcome="
        if let winners {
            checks.append(Check(what: "winners / claims won", seen: winners, counted: delta { $0[claims + "\"won\"}"] }))
        }
        if let rejections {
            checks.append(Check(
                what: "\"taken\" answers / claims rejected + conflict",
                seen: rejections,
                counted: delta { $0[claims + "\"rejected\"}"] + $0[claims + "\"conflict\"}"] }
            ))
        }
    }

    var lines: [String] {
        checks.map { "reconcile: \($0.what): seen \($0.seen), counted \($0.counted)  \($0.ok ? "ok" : "MISMATCH")" }
    }
}
