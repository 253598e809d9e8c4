import NIOConcurrencyHelpers

/// The bounded hand-over between the log handlers (any thread) and the ``LogSink`` run loop.
///
/// `push` takes a lock for a few instructions and may resume the waiting consumer; it never waits.
/// When the buffer is full the record is dropped and counted; the consumer reports the count.
final class LogRecordBuffer: Sendable {
    enum Entry: Sendable {
        case record(LogRecord)
        /// Resumed once every entry before it is written.
        case barrier(CheckedContinuation<Void, Never>)
    }

    /// What the consumer takes in one go.
    struct Batch {
        var entries: [Entry]
        var dropped: Int
        /// Set on the first batch after a graceful shutdown began.
        var drainStarted: Bool
    }

    private enum Phase { case running, draining, closed }

    private struct State {
        var entries: [Entry] = []
        var records = 0
        var dropped = 0
        var phase = Phase.running
        var drainReported = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    let capacity: Int
    private let state = NIOLockedValueBox(State())

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// Hands a record over, or counts it as dropped when the buffer is full or closed. Never blocks.
    func push(_ record: LogRecord) {
        let waiter: CheckedContinuation<Void, Never>? = state.withLockedValue { state in
            // Records after close are not counted: nobody is left to report them.
            guard state.phase != .closed else { return nil }
            guard state.records < capacity else {
                state.dropped += 1
                return nil
            }
            state.entries.append(.record(record))
            state.records += 1
            return state.waiter.take()
        }
        waiter?.resume()
    }

    /// Waits until every record pushed before this call has been handled by the consumer.
    func barrier() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let (accepted, waiter) = state.withLockedValue { state -> (Bool, CheckedContinuation<Void, Never>?) in
                #if MUTANT_UNGUARDED_BARRIER
                // The simulation's mutant (Tests/scripts/simulation-mutants.sh): a barrier that does not wait.
                guard state.phase == .closed else { return (false, nil) }
                #else
                guard state.phase != .closed else { return (false, nil) }
                #endif
                state.entries.append(.barrier(continuation))
                return (true, state.waiter.take())
            }
            waiter?.resume()
            if !accepted { continuation.resume() }
        }
    }

    /// Starts a graceful drain: records are still accepted; the consumer is told once.
    func beginDrain() {
        let waiter = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            if state.phase == .running { state.phase = .draining }
            return state.waiter.take()
        }
        waiter?.resume()
    }

    /// Stops accepting records; the consumer gets what is left, then `nil`.
    func close() {
        let waiter = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            state.phase = .closed
            return state.waiter.take()
        }
        waiter?.resume()
    }

    /// The next batch: everything queued, taken in one lock. `nil` once closed and empty.
    /// Only one consumer may call this at a time.
    func next() async -> Batch? {
        while true {
            switch take() {
            case .batch(let batch): return batch
            case .finished: return nil
            case .empty: break
            }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLockedValue { state -> Bool in
                    if Self.hasWork(state) { return true }
                    state.waiter = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        }
    }

    private enum TakeResult {
        case batch(Batch)
        case finished
        case empty
    }

    private static func hasWork(_ state: State) -> Bool {
        !state.entries.isEmpty || state.dropped > 0 || state.phase == .closed
            || (state.phase == .draining && !state.drainReported)
    }

    private func take() -> TakeResult {
        state.withLockedValue { state -> TakeResult in
            let drainStarted = state.phase != .running && !state.drainReported
            if state.entries.isEmpty, state.dropped == 0, !drainStarted {
                return state.phase == .closed ? .finished : .empty
            }
            state.drainReported = state.drainReported || drainStarted
            let batch = Batch(entries: state.entries, dropped: state.dropped, drainStarted: drainStarted)
            state.entries = []
            state.records = 0
            state.dropped = 0
            return .batch(batch)
        }
    }
}
