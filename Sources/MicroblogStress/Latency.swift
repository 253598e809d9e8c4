import Foundation
import Histogram

/// Request latencies in microseconds, kept in an HdrHistogram (3 significant digits, up to 10 minutes).
struct Latencies: Sendable {
    private(set) var histogram = Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)

    init() {}

    mutating func record(_ duration: Duration) {
        let micros = duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000
        _ = histogram.record(UInt64(clamping: max(0, micros)))
    }

    mutating func add(_ other: Latencies) {
        histogram.add(other.histogram)
    }

    var count: UInt64 { histogram.totalCount }

    /// The summary written in reports, in milliseconds.
    var summary: LatencySummary {
        guard count > 0 else { return LatencySummary(count: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0) }
        func ms(_ micros: UInt64) -> Double { Double(micros) / 1000 }
        return LatencySummary(
            count: count,
            p50: ms(histogram.valueAtPercentile(50)),
            p90: ms(histogram.valueAtPercentile(90)),
            p99: ms(histogram.valueAtPercentile(99)),
            p999: ms(histogram.valueAtPercentile(99.9)),
            max: ms(histogram.max),
            mean: (histogram.mean).rounded() / 1000
        )
    }
}

/// Latency percentiles in milliseconds.
struct LatencySummary: Sendable, Codable {
    var count: UInt64
    var p50: Double
    var p90: Double
    var p99: Double
    var p999: Double
    var max: Double
    var mean: Double

    var text: String {
        String(format: "p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  p99.9 %.2f ms  max %.2f ms", p50, p90, p99, p999, max)
    }
}

extension Duration {
    var milliseconds: Double {
        Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15
    }
}

/// Where reports go: text for people on stderr when `--json` is given (stdout otherwise); the JSON line alone on
/// stdout.
struct Reporter: Sendable {
    let json: Bool

    func say(_ line: String) {
        if json {
            FileHandle.standardError.write(Data((line + "\n").utf8))
        } else {
            print(line)
        }
    }

    func emit(_ report: some Encodable) throws {
        guard json else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(report)
        print(String(decoding: data, as: UTF8.self))
    }
}
