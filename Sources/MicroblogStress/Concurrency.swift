import NIOConcurrencyHelpers

/// A one-shot barrier for `count` tasks: each `arrive()` suspends until the last one arrives, then all are
/// resumed at once and get the same release instant. Built on continuations, no sleeping.
final class Barrier: Sendable {
    private struct State {
        var remaining: Int
        var waiters: [CheckedContinuation<ContinuousClock.Instant, Never>] = []
        var released: ContinuousClock.Instant?
    }

    private let state: NIOLockedValueBox<State>

    init(count: Int) {
        state = NIOLockedValueBox(State(remaining: count))
    }

    /// Waits for everyone; returns the instant the barrier opened.
    func arrive() async -> ContinuousClock.Instant {
        await withCheckedContinuation { continuation in
            let toResume: ([CheckedContinuation<ContinuousClock.Instant, Never>], ContinuousClock.Instant)? = state.withLockedValue { state in
                if let released = state.released { return ([continuation], released) }
                state.remaining -= 1
                state.waiters.append(continuation)
                guard state.remaining <= 0 else { return nil }
                let now = ContinuousClock.now
                state.released = now
                let waiters = state.waiters
                state.waiters = []
                return (waiters, now)
            }
            if let (waiters, instant) = toResume {
                for waiter in waiters { waiter.resume(returning: instant) }
            }
        }
    }
}

/// A counting semaphore for tasks: at most `limit` holders; `acquire()` suspends (no spinning) while full.
final class Slots: Sendable {
    private struct State {
        var available: Int
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state: NIOLockedValueBox<State>

    init(limit: Int) {
        state = NIOLockedValueBox(State(available: max(1, limit)))
    }

    func acquire() async {
        await withCheckedContinuation { continuation in
            let granted = state.withLockedValue { state in
                if state.available > 0 {
                    state.available -= 1
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if granted { continuation.resume() }
        }
    }

    func release() {
        let waiter: CheckedContinuation<Void, Never>? = state.withLockedValue { state in
            if state.waiters.isEmpty {
                state.available += 1
                return nil
            }
            return state.waiters.removeFirst()
        }
        waiter?.resume()
    }
}

/// Runs `body` for every element with at most `limit` at a time, and returns the results in order.
func concurrentMap<Element: Sendable, Result: Sendable>(
    _ elements: [Element],
    limit: Int,
    _ body: @escaping @Sendable (Int, Element) async throws -> Result
) async throws -> [Result] {
    try await withThrowingTaskGroup(of: (Int, Result).self) { group in
        var results = [Result?](repeating: nil, count: elements.count)
        var next = 0
        func startNext() {
            guard next < elements.count else { return }
            let index = next
            let element = elements[index]
            next += 1
            group.addTask { (index, try await body(index, element)) }
        }
        for _ in 0..<max(1, limit) { startNext() }
        while let (index, result) = try await group.next() {
            results[index] = result
            startNext()
        }
        return results.map { $0! }
    }
}
