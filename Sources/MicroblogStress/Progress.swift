import Foundation
import NIOConcurrencyHelpers

/// What a run has seen so far, shown while it runs: on a terminal one status line on stderr redrawn every second,
/// otherwise a plain line every 5 seconds.
final class LiveProgress: Sendable {
    private struct Counts {
        var byClass = [Int](repeating: 0, count: 6)  // index 2...5: 2xx...5xx
        var rejections = 0
        var transportErrors = 0
        var latencies = Latencies()
    }

    private let counts = NIOLockedValueBox(Counts())
    private let start = ContinuousClock.now
    private let terminal = isatty(STDERR_FILENO) == 1

    /// Records one answer: its status (nil: a transport error), whether it was a "taken" rejection, its latency.
    func record(status: Int?, rejection: Bool = false, latency: Duration) {
        counts.withLockedValue { counts in
            if let status, (200..<600).contains(status) {
                counts.byClass[status / 100] += 1
            } else {
                counts.transportErrors += 1
            }
            if rejection { counts.rejections += 1 }
            counts.latencies.record(latency)
        }
    }

    /// The status line as of now.
    var line: String {
        let elapsed = start.duration(to: .now).milliseconds / 1000
        return counts.withLockedValue { counts in
            let summary = counts.latencies.summary
            let rate = elapsed > 0 ? Double(summary.count) / elapsed : 0
            return String(
                format: "%5.0f s  %6.0f req/s  2xx %d  3xx %d  4xx %d  5xx %d  rejected %d  errors %d  p50 %.2f ms  p99 %.2f ms",
                elapsed, rate, counts.byClass[2], counts.byClass[3], counts.byClass[4], counts.byClass[5],
                counts.rejections, counts.transportErrors, summary.p50, summary.p99
            )
        }
    }

    /// Runs `body` while the status is shown; the line is cleared (terminal) once it returns.
    func showing<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await self.show() }
            defer { group.cancelAll() }
            let result = try await body()
            group.cancelAll()
            if terminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
            return result
        }
    }

    private func show() async {
        let interval: Duration = terminal ? .seconds(1) : .seconds(5)
        while true {
            do {
                try await Task.sleep(for: interval)
            } catch {
                return
            }
            let text = terminal ? "\r\u{1B}[K" + line : line + "\n"
            FileHandle.standardError.write(Data(text.utf8))
        }
    }
}
