import Logging
import ServiceLifecycle

/// A client's mistake that is answered without an error page of its own, counted for the summary line.
enum ClientMistake: String, Sendable {
    case invalidRememberCookie = "invalid remember-me cookie"
}

/// Writes the client errors the site answered (404, 405, 400, 413, 429, ...) as one INFO line a minute, such as
/// `Error pages in the last 60 seconds: 404 x 1500, 405 x 2, 503 x 40`, and a last one on shutdown. Each error itself is a
/// DEBUG record, so a scan adds a line a minute to the log file, not a line a request.
struct ClientErrorSummary: Service {
    let pages: ErrorPages
    let interval: Duration
    let logger: Logger

    func run() async {
        while true {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                await report()
                return
            }
            await report()
        }
    }

    /// Logs the counts since the last report, if there were any.
    func report() async {
        let counts = await pages.takeClientErrorCounts()
        guard let line = Self.line(counts.statuses, mistakes: counts.mistakes, interval: interval) else { return }
        logger.info("\(line)")
    }

    /// The summary line for `counts`, by status code in ascending order, then the mistakes by kind; nil when there
    /// is nothing to report.
    static func line(_ counts: [Int: Int], mistakes: [ClientMistake: Int] = [:], interval: Duration) -> String? {
        guard !counts.isEmpty || !mistakes.isEmpty else { return nil }
        let parts = counts.sorted { $0.key < $1.key }.map { "\($0.key) x \($0.value)" }
            + mistakes.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue) x \($0.value)" }
        return "Error pages in the last \(interval.components.seconds) seconds: " + parts.joined(separator: ", ")
    }
}
