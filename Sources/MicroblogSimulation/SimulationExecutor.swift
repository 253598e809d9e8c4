import Synchronization

/// Runs the jobs of every task that prefers it, and of every actor whose executor it is, one at a time on the
/// thread that drives it, in the order a ``Schedule`` picks; time is virtual and moves only when no job is ready.
///
/// Its promise: given the same schedule (and the same code), a run takes the same steps in the same order, so a
/// seed replays a run exactly. Nothing runs in parallel: a job runs to its next suspension point, then the
/// schedule picks the next one among all that are ready. What escapes it (a detached task, a real clock, Dispatch,
/// NIO's event loops) runs outside the schedule, and a simulated component must not use it.
package final class SimulationExecutor: TaskExecutor, SerialExecutor, @unchecked Sendable {
    /// A job ready to run, and the task it belongs to (0: an actor's own job, or a task not known).
    private struct Ready {
        var job: UnownedJob
        var thread: Int
    }

    /// A sleeper, woken when virtual time reaches its deadline.
    private struct Timer {
        var deadline: Duration
        var id: Int
        var continuation: UnsafeContinuation<Void, any Error>
    }

    private struct State {
        var ready: [Ready] = []
        var timers: [Timer] = []
        var cancelledTimers: Set<Int> = []
        var nextTimer = 0
        var now = Duration.zero
        /// Tasks by their runtime id, numbered in the order they first ran (stable across processes).
        var threads: [Substring: Int] = [:]
    }

    private let state = Mutex(State())
    private let tracksThreads: Bool

    /// - Parameter tracksThreads: whether jobs are told apart by task (a schedule that gives tasks priorities).
    package init(tracksThreads: Bool) {
        self.tracksThreads = tracksThreads
    }

    package func enqueue(_ job: consuming ExecutorJob) {
        let thread = tracksThreads ? threadNumber(job.description) : 0
        let unowned = UnownedJob(job)
        state.withLock { $0.ready.append(Ready(job: unowned, thread: thread)) }
    }

    package func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    /// Virtual time since the run began.
    package var now: Duration { state.withLock { $0.now } }

    /// How a drive ended.
    package enum End: Sendable, Equatable {
        /// No job is ready and no sleeper waits: everything that could run has run.
        case idle
        /// The step limit was reached with jobs still ready (a livelock, or a limit too low).
        case stepLimit
    }

    /// Runs ready jobs, one at a time in the schedule's order, until none is ready and no sleeper waits; when only
    /// sleepers wait, virtual time jumps to the earliest deadline. Records every choice among two or more ready jobs.
    package func drive(_ schedule: inout some Schedule, stepLimit: Int, choices: inout [Choice], steps: inout Int) -> End {
        while true {
            let next: (job: UnownedJob, thread: Int, choice: Choice?)? = state.withLock { state in
                if state.ready.isEmpty { return nil }
                if state.ready.count == 1 {
                    let ready = state.ready.removeFirst()
                    return (ready.job, ready.thread, nil)
                }
                let threads = state.ready.map(\.thread)
                let index = min(max(0, schedule.choose(among: threads)), threads.count - 1)
                let ready = state.ready.remove(at: index)
                return (ready.job, ready.thread, Choice(index: index, of: threads.count))
            }
            guard let next else {
                if wakeEarliestSleepers() { continue }
                return .idle
            }
            if let choice = next.choice { choices.append(choice) }
            schedule.ran(thread: next.thread)
            steps += 1
            next.job.runSynchronously(isolatedTo: asUnownedSerialExecutor(), taskExecutor: asUnownedTaskExecutor())
            if steps >= stepLimit { return .stepLimit }
        }
    }

    /// Moves virtual time to the earliest deadline and wakes every sleeper due then, in the order they slept.
    private func wakeEarliestSleepers() -> Bool {
        let due: [UnsafeContinuation<Void, any Error>] = state.withLock { state in
            guard let deadline = state.timers.map(\.deadline).min() else { return [] }
            state.now = max(state.now, deadline)
            let due = state.timers.filter { $0.deadline == deadline }
            state.timers.removeAll { $0.deadline == deadline }
            return due.map(\.continuation)
        }
        for continuation in due { continuation.resume() }
        return !due.isEmpty
    }

    /// Suspends the calling task until virtual time reaches `deadline`; throws `CancellationError` when the task is
    /// cancelled first.
    package func sleep(until deadline: Duration) async throws {
        let id = state.withLock { state in
            defer { state.nextTimer += 1 }
            return state.nextTimer
        }
        try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Void, any Error>) in
                let cancelled = state.withLock { state -> Bool in
                    if state.cancelledTimers.remove(id) != nil { return true }
                    state.timers.append(Timer(deadline: max(deadline, state.now), id: id, continuation: continuation))
                    return false
                }
                if cancelled { continuation.resume(throwing: CancellationError()) }
            }
        } onCancel: {
            let timer = state.withLock { state -> Timer? in
                guard let index = state.timers.firstIndex(where: { $0.id == id }) else {
                    state.cancelledTimers.insert(id)
                    return nil
                }
                return state.timers.remove(at: index)
            }
            timer?.continuation.resume(throwing: CancellationError())
        }
    }

    /// The task a job belongs to, numbered by first appearance; 0 for a job of no task (an actor's own).
    private func threadNumber(_ description: String) -> Int {
        // `ExecutorJob(id: 12)` for a task's job, `ExecutorJob(id: nil)` otherwise.
        guard let colon = description.firstIndex(of: ":") else { return 0 }
        let id = description[description.index(after: colon)...].dropFirst().dropLast()
        guard id.allSatisfy(\.isNumber), !id.isEmpty else { return 0 }
        return state.withLock { state in
            if let known = state.threads[id] { return known }
            let number = state.threads.count + 1
            state.threads[id] = number
            return number
        }
    }
}

/// One choice a schedule made: the `index`-th of `of` ready jobs (in the order they became ready).
package struct Choice: Sendable, Equatable, CustomStringConvertible {
    package var index: Int
    package var of: Int

    package var description: String { "\(index)/\(of)" }
}
