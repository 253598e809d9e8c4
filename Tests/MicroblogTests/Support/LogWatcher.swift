import Logging
import NIOConcurrencyHelpers

/// The port of the first `<label> http://127.0.0.1:<port>` line in `text` (e.g. "Metrics listening on").
func announcedPort(_ label: String, in text: String) -> Int? {
    guard let range = text.range(of: label + " http://127.0.0.1:") else { return nil }
    guard let port = Int(text[range.upperBound...].prefix(while: \.isNumber)), port > 0 else { return nil }
    return port
}

/// A log handler a test can wait on: every message is kept, and ``port(announcedAs:)`` returns once the record that
/// announces a port has been logged (the record resumes the waiter: no polling). The wait ends with nil when the
/// waiting task is cancelled, so a test's time limit ends it.
final class LogWatcher: Sendable {
    private struct State {
        var text = ""
        var waiters: [Int: (label: String, continuation: CheckedContinuation<Int?, Never>)] = [:]
        var nextID = 0
    }

    private let state = NIOLockedValueBox(State())

    /// A logger whose records the watcher sees.
    func logger(label: String = "watched") -> Logger {
        Logger(label: label) { _ in Handler(watcher: self) }
    }

    /// The port announced as `<label> http://127.0.0.1:<port>`, once it is; nil if the task is cancelled first.
    func port(announcedAs label: String) async -> Int? {
        let id = state.withLockedValue { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let answer: Int?? = state.withLockedValue { state in
                    if let port = announcedPort(label, in: state.text) { return .some(port) }
                    if Task.isCancelled { return .some(nil) }
                    state.waiters[id] = (label, continuation)
                    return nil
                }
                if let answer { continuation.resume(returning: answer) }
            }
        } onCancel: {
            state.withLockedValue { $0.waiters.removeValue(forKey: id) }?.continuation.resume(returning: nil)
        }
    }

    fileprivate func record(_ message: String) {
        let ready = state.withLockedValue { state -> [(CheckedContinuation<Int?, Never>, Int)] in
            state.text += message + "\n"
            var ready: [(CheckedContinuation<Int?, Never>, Int)] = []
            for (id, waiter) in state.waiters {
                if let port = announcedPort(waiter.label, in: state.text) {
                    state.waiters[id] = nil
                    ready.append((waiter.continuation, port))
                }
            }
            return ready
        }
        for (continuation, port) in ready { continuation.resume(returning: port) }
    }

    private struct Handler: LogHandler {
        let watcher: LogWatcher
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .info

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            watcher.record(event.message.description)
        }
    }
}
