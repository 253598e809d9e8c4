import Foundation
import Synchronization

/// What simulated code is handed: the executor's virtual clock, the suspension points where the schedule decides,
/// the seeded faults, and the journal of what happened.
package struct SimulationContext: Sendable {
    package let executor: SimulationExecutor
    let journal: SimulationJournal

    /// The virtual clock: sleeping on it costs no real time.
    package var clock: SimulationClock { SimulationClock(executor: executor) }

    /// The virtual time as a date, for code that takes a `() -> Date` (it starts at a fixed date).
    package var date: @Sendable () -> Date {
        let executor = executor
        return { SimulationClock.epoch.addingTimeInterval(executor.now.seconds) }
    }

    /// A suspension point: anything else that is ready may run before the caller goes on.
    package func step(_ event: @autoclosure () -> String) async {
        journal.record(event())
        await Task.yield()
    }

    /// Notes an event without suspending.
    package func note(_ event: @autoclosure () -> String) {
        journal.record(event())
    }

    /// Whether the fault at this point happens in this run (drawn from the run's fault seed, BUGGIFY-style); a
    /// fault that happens is journalled.
    package func fault(_ what: @autoclosure () -> String, oneIn: Int) -> Bool {
        journal.fault(oneIn: oneIn, what)
    }

    /// Records a broken invariant at the moment it breaks.
    package func violation(_ what: String) {
        journal.violation(what)
    }

    /// Runs `operation` as one named operation of the workload: one left unfinished at the end of a run is reported
    /// as waiting forever.
    package func operation<T>(_ name: String, _ operation: () async -> T) async -> T {
        journal.begin(name)
        let result = await operation()
        journal.end(name)
        return result
    }
}

/// Everything a run recorded: events (when asked), faults that happened, broken invariants, unfinished operations.
final class SimulationJournal: Sendable {
    private struct State {
        var events: [String] = []
        var violations: [String] = []
        var faults = 0
        var random: SimulationRandom
        var pending: [String] = []
    }

    private let state: Mutex<State>
    private let recordsEvents: Bool
    private let faultsEnabled: Bool

    init(faultSeed: UInt64?, recordsEvents: Bool) {
        state = Mutex(State(random: SimulationRandom(seed: faultSeed ?? 0)))
        faultsEnabled = faultSeed != nil
        self.recordsEvents = recordsEvents
    }

    func record(_ event: @autoclosure () -> String) {
        guard recordsEvents else { return }
        let text = event()
        state.withLock { $0.events.append(text) }
    }

    func fault(oneIn: Int, _ what: () -> String) -> Bool {
        guard faultsEnabled else { return false }
        let happens = state.withLock { state in
            let happens = state.random.oneIn(oneIn)
            if happens { state.faults += 1 }
            return happens
        }
        if happens { record("fault: \(what())") }
        return happens
    }

    func violation(_ what: String) {
        state.withLock { $0.violations.append(what) }
        record("VIOLATION: \(what)")
    }

    func begin(_ name: String) {
        state.withLock { $0.pending.append(name) }
    }

    func end(_ name: String) {
        state.withLock { state in
            if let index = state.pending.firstIndex(of: name) { state.pending.remove(at: index) }
        }
    }

    var events: [String] { state.withLock { $0.events } }
    var violations: [String] { state.withLock { $0.violations } }
    var faults: Int { state.withLock { $0.faults } }
    var pending: [String] { state.withLock { $0.pending } }
}

/// Virtual time, kept by a ``SimulationExecutor``: `sleep` returns when every job that can run has run and the
/// deadline is the earliest one waiting.
package struct SimulationClock: Clock {
    /// A point in virtual time: the time since the run began.
    package struct Instant: InstantProtocol {
        package var offset: Duration

        package func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        package func duration(to other: Instant) -> Duration { other.offset - offset }
        package static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    /// The date virtual time starts at.
    package static let epoch = Date(timeIntervalSince1970: 1_800_000_000)

    let executor: SimulationExecutor

    package var now: Instant { Instant(offset: executor.now) }
    package var minimumResolution: Duration { .nanoseconds(1) }

    package func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        try await executor.sleep(until: deadline.offset)
    }
}

extension Duration {
    /// The duration in seconds, as a `TimeInterval`.
    var seconds: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}
