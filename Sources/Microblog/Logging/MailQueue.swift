import CoreMetrics
import NIOConcurrencyHelpers

/// The bounded queue of error records waiting to be mailed, shared by the file loop (producer) and the
/// mail loop (consumer). Also tells waiters when nothing is queued or being sent.
final class MailQueue: Sendable {
    private struct State {
        var records: [LogRecord] = []
        var dropped = 0
        var sending = false
        var closed = false
        var waiter: CheckedContinuation<Void, Never>?
        var idleWaiters: [CheckedContinuation<Void, Never>] = []
        var closeWaiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextWaiterID = 0
    }

    let capacity: Int
    private let state = NIOLockedValueBox(State())
    /// The number of records waiting, kept up to date for the metrics.
    private let depth: Meter

    /// How the mail loop waits (`Task.sleep`, or a simulation's clock).
    private let wait: @Sendable (Duration) async throws -> Void

    init(capacity: Int, depth: Meter, sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }) {
        self.capacity = max(1, capacity)
        self.depth = depth
        self.wait = sleep
    }

    /// Queues a record, or counts it as dropped when the queue is full or closed.
    func push(_ record: LogRecord) {
        let waiter = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            guard !state.closed, state.records.count < capacity else {
                state.dropped += 1
                return nil
            }
            state.records.append(record)
            depth.set(state.records.count)
            return state.waiter.take()
        }
        waiter?.resume()
    }

    /// No more records; the mail loop sends what is left (without waiting for windows) and stops.
    func close() {
        let (waiter, closeWaiters) = state.withLockedValue { state in
            state.closed = true
            let waiters = Array(state.closeWaiters.values)
            state.closeWaiters.removeAll()
            return (state.waiter.take(), waiters)
        }
        waiter?.resume()
        for waiter in closeWaiters { waiter.resume() }
    }

    var isClosed: Bool { state.withLockedValue { $0.closed } }

    /// Waits for a record; `false` once closed and empty.
    func waitForRecords() async -> Bool {
        while true {
            let status = state.withLockedValue { state -> Bool? in
                if !state.records.isEmpty || state.dropped > 0 { return true }
                return state.closed ? false : nil
            }
            if let status { return status }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLockedValue { state -> Bool in
                    if !state.records.isEmpty || state.dropped > 0 || state.closed { return true }
                    state.waiter = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        }
    }

    /// Takes up to `limit` records and the dropped count, and marks a send as in progress.
    func take(limit: Int) -> (records: [LogRecord], dropped: Int) {
        state.withLockedValue { state in
            let count = min(limit, state.records.count)
            let records = Array(state.records.prefix(count))
            state.records.removeFirst(count)
            depth.set(state.records.count)
            let dropped = state.dropped
            state.dropped = 0
            state.sending = true
            return (records, dropped)
        }
    }

    /// Marks the send started by `take` as finished (delivered or given up).
    func finishSend() {
        let waiters = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            state.sending = false
            guard state.records.isEmpty, state.dropped == 0 else { return [] }
            defer { state.idleWaiters.removeAll() }
            return state.idleWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Waits until no record is queued and no mail is being sent.
    func waitUntilIdle() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let idle = state.withLockedValue { state -> Bool in
                if state.records.isEmpty, state.dropped == 0, !state.sending { return true }
                state.idleWaiters.append(continuation)
                return false
            }
            if idle { continuation.resume() }
        }
    }

    /// Resumes every idle waiter: the mail loop has ended.
    func releaseIdleWaiters() {
        let waiters = state.withLockedValue { state in
            defer { state.idleWaiters.removeAll() }
            return state.idleWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Sleeps for `duration`, or less when the queue closes or the task is cancelled.
    func sleep(for duration: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await self.wait(duration) }
            group.addTask { await self.waitUntilClosed() }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitUntilClosed() async {
        let id = state.withLockedValue { state in
            defer { state.nextWaiterID += 1 }
            return state.nextWaiterID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLockedValue { state -> Bool in
                    // Checked under the lock that `onCancel` takes, so no wake-up is lost.
                    if state.closed || Task.isCancelled { return true }
                    state.closeWaiters[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLockedValue { $0.closeWaiters.removeValue(forKey: id) }
            waiter?.resume()
        }
    }
}
