import Foundation

/// A workload of real actors, and what must hold after it: what ``Simulation`` runs under many schedules.
package protocol SimulationScenario: Sendable {
    associatedtype Outcome: Sendable

    /// What reports call it (the type's name, and what sets it apart from its siblings).
    var name: String { get }

    /// About how many choices among ready jobs one run makes (where a ``PCTSchedule`` puts its change points).
    var choicePoints: Int { get }

    /// Runs the workload of `seed` (which may choose it) inside the simulation.
    func play(seed: UInt64, in context: SimulationContext) async -> Outcome

    /// What is wrong with a finished run: nothing when every invariant holds.
    func violations(of outcome: Outcome, seed: UInt64) -> [String]

    /// The workload of `seed` with one part less, each way it can lose one (none: it cannot get smaller): what a
    /// failure is shrunk through first.
    func smaller(seed: UInt64) -> [Self]
}

extension SimulationScenario {
    package var name: String { String(describing: Self.self) }

    package func smaller(seed: UInt64) -> [Self] { [] }
}

/// How schedules are chosen.
package enum SimulationMode: Sendable, CustomStringConvertible {
    /// Uniform random choices from each seed.
    case random
    /// PCT priorities from each seed, with `depth - 1` priority changes.
    case pct(depth: Int)

    package var description: String {
        switch self {
        case .random: "random"
        case .pct(let depth): "pct(depth: \(depth))"
        }
    }

    func schedule(seed: UInt64, choicePoints: Int) -> any Schedule {
        switch self {
        case .random: RandomSchedule(seed: seed)
        case .pct(let depth): PCTSchedule(seed: seed, depth: depth, choicePoints: choicePoints)
        }
    }
}

/// One run: what the workload returned (nil: it never finished), how the drive ended, and its trace.
package struct SimulationRun<Outcome: Sendable>: Sendable {
    package var outcome: Outcome?
    package var end: SimulationExecutor.End
    /// Every choice among two or more ready jobs, in order.
    package var choices: [Choice]
    package var steps: Int
    /// What the simulated components journalled (recorded only when asked: replays and failures).
    package var events: [String]
    package var faults: Int
    /// Invariants found broken, during the run and after it.
    package var violations: [String]

    /// The choices and the events, one per line: two replays of one seed give the same trace.
    package var trace: String {
        (["choices: " + choices.map(\.description).joined(separator: " ")] + events).joined(separator: "\n")
    }
}

/// A run whose invariants broke, how to replay it, and the same failure with fewer steps.
package struct SimulationFailure: Sendable, CustomStringConvertible {
    package var scenario: String
    package var seed: UInt64
    package var mode: SimulationMode
    /// How many seeds were run before this one failed, this one included.
    package var seedsRun: Int
    package var violations: [String]
    package var steps: Int
    package var choices: [Choice]
    /// The shrunk failure: its choices (past their end, the first ready job), and whether it needs faults.
    package var shrunkChoices: [Int]
    package var shrunkSteps: Int
    package var shrunkNeedsFaults: Bool
    package var shrunkTrace: String

    /// Choices that did not take the first ready job: the schedule's departures from FIFO order.
    package var departures: Int { choices.filter { $0.index != 0 }.count }
    package var shrunkDepartures: Int { shrunkChoices.filter { $0 != 0 }.count }

    package var description: String {
        """
        \(scenario): \(violations.joined(separator: "; "))
          \(scenario), seed \(seed) (\(mode)): found after \(seedsRun) seed\(seedsRun == 1 ? "" : "s"): \(steps) steps, \(choices.count) choices, \(departures) off the first-ready order
          replay: SIMULATION_SEED=\(seed) swift test --filter <the test that printed this>
          shrunk: \(shrunkSteps) steps, \(shrunkDepartures) choices off the first-ready order, faults \(shrunkNeedsFaults ? "needed" : "not needed"); choices \(shrunkChoices.map(String.init).joined(separator: "."))
        \(shrunkTrace.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
        """
    }
}

/// The outcome of an exploration: how many schedules ran, how fast, and the first failure found.
package struct SimulationReport: Sendable, CustomStringConvertible {
    package var scenario: String
    package var mode: String
    package var runs: Int
    package var seconds: Double
    /// An exhaustive search that enumerated every schedule (false: stopped at its limit or at a failure).
    package var complete: Bool
    package var failure: SimulationFailure?

    package var schedulesPerSecond: Int { seconds > 0 ? Int(Double(runs) / seconds) : runs }

    package var description: String {
        let head = "\(scenario) \(mode): \(runs) schedules in \(String(format: "%.2f", seconds)) s (\(schedulesPerSecond)/s)"
        guard let failure else { return head + ", every invariant held" }
        return head + "\n" + failure.description
    }
}

/// Runs real actors under a ``SimulationExecutor``: one run from a schedule, many from seeds, or every schedule of a
/// small workload; a failing run is shrunk and can be replayed from its seed.
package enum Simulation {
    /// How many steps a run may take before it counts as a livelock.
    package static let stepLimit = 200_000

    /// One run of `scenario`'s workload for `seed` under `schedule`; faults are drawn from `faultSeed` (nil: none).
    package static func run<Scenario: SimulationScenario>(
        _ scenario: Scenario,
        seed: UInt64,
        schedule: inout some Schedule,
        faultSeed: UInt64?,
        recordsEvents: Bool
    ) -> SimulationRun<Scenario.Outcome> {
        let executor = SimulationExecutor(tracksThreads: schedule.needsThreads)
        let journal = SimulationJournal(faultSeed: faultSeed, recordsEvents: recordsEvents)
        let context = SimulationContext(executor: executor, journal: journal)
        let box = OutcomeBox<Scenario.Outcome>()
        Task(executorPreference: executor) {
            box.value = await scenario.play(seed: seed, in: context)
        }
        var choices: [Choice] = []
        var steps = 0
        let end = executor.drive(&schedule, stepLimit: stepLimit, choices: &choices, steps: &steps)
        var violations = journal.violations
        if end == .stepLimit {
            violations.append("a run took \(stepLimit) steps without finishing (a livelock)")
        } else if let outcome = box.value {
            violations += scenario.violations(of: outcome, seed: seed)
        } else {
            let pending = journal.pending
            violations.append(
                "waiting forever, with no job ready and no sleeper: \(pending.isEmpty ? "the workload" : pending.joined(separator: ", "))"
            )
        }
        return SimulationRun(
            outcome: box.value,
            end: end,
            choices: choices,
            steps: steps,
            events: journal.events,
            faults: journal.faults,
            violations: violations
        )
    }

    /// Runs one seed the way ``explore(_:mode:seeds:faults:)`` runs it, with events recorded.
    package static func replay<Scenario: SimulationScenario>(
        _ scenario: Scenario,
        seed: UInt64,
        mode: SimulationMode,
        faults: Bool
    ) -> SimulationRun<Scenario.Outcome> {
        var schedule = mode.schedule(seed: seed, choicePoints: scenario.choicePoints)
        return run(scenario, seed: seed, schedule: &schedule, faultSeed: faults ? faultSeed(seed) : nil, recordsEvents: true)
    }

    /// Runs one schedule per seed until one breaks an invariant; that one is shrunk.
    package static func explore<Scenario: SimulationScenario>(
        _ scenario: Scenario,
        mode: SimulationMode,
        seeds: Range<UInt64>,
        faults: Bool
    ) -> SimulationReport {
        let name = scenario.name
        let started = ContinuousClock.now
        var runs = 0
        for seed in seeds {
            var schedule = mode.schedule(seed: seed, choicePoints: scenario.choicePoints)
            let run = run(scenario, seed: seed, schedule: &schedule, faultSeed: faults ? faultSeed(seed) : nil, recordsEvents: false)
            runs += 1
            if !run.violations.isEmpty {
                let seconds = (ContinuousClock.now - started).seconds
                let failure = shrink(scenario, name: name, seed: seed, mode: mode, faults: faults, run: run, seedsRun: runs)
                return SimulationReport(scenario: name, mode: "\(mode)", runs: runs, seconds: seconds, complete: false, failure: failure)
            }
        }
        return SimulationReport(
            scenario: name, mode: "\(mode)", runs: runs, seconds: (ContinuousClock.now - started).seconds, complete: false, failure: nil
        )
    }

    /// Every schedule of the workload of `seed` (no faults) with at most `preemptions` preemptions, depth first, up
    /// to `limit` schedules (``BoundedSchedule``).
    package static func exhaust<Scenario: SimulationScenario>(
        _ scenario: Scenario,
        seed: UInt64,
        preemptions: Int,
        limit: Int
    ) -> SimulationReport {
        let name = scenario.name
        let mode = "every schedule with \(preemptions) preemption\(preemptions == 1 ? "" : "s") at most"
        let started = ContinuousClock.now
        var prefix: [Int] = []
        var runs = 0
        while runs < limit {
            var schedule = BoundedSchedule(ranks: prefix, preemptions: preemptions)
            let run = run(scenario, seed: seed, schedule: &schedule, faultSeed: nil, recordsEvents: false)
            runs += 1
            if !run.violations.isEmpty {
                let seconds = (ContinuousClock.now - started).seconds
                let failure = shrink(scenario, name: name, seed: seed, mode: .random, faults: false, run: run, seedsRun: runs)
                return SimulationReport(scenario: name, mode: mode, runs: runs, seconds: seconds, complete: false, failure: failure)
            }
            // The next schedule: the last choice that has an untried sibling takes it; what follows starts afresh.
            let ranks = schedule.ranks
            guard let last = ranks.lastIndex(where: { $0.index + 1 < $0.of }) else {
                return SimulationReport(
                    scenario: name, mode: mode, runs: runs, seconds: (ContinuousClock.now - started).seconds, complete: true, failure: nil
                )
            }
            prefix = ranks[..<last].map(\.index) + [ranks[last].index + 1]
        }
        return SimulationReport(
            scenario: name, mode: mode, runs: runs, seconds: (ContinuousClock.now - started).seconds, complete: false, failure: nil
        )
    }

    /// The faults of a seed come from a generator of their own, so that a schedule's choices do not move them.
    static func faultSeed(_ seed: UInt64) -> UInt64 {
        seed ^ 0xFA17_FA17_FA17_FA17
    }

    /// The failing run made simpler: without faults if it still fails so; then a smaller workload at a time
    /// (``SimulationScenario/smaller(seed:)``) while one fails, under the same choices or the first-ready order; then
    /// the shortest prefix of its choices that fails (the first ready job after it); then each remaining departure
    /// from the first ready job undone where the failure stays.
    private static func shrink<Scenario: SimulationScenario>(
        _ found: Scenario,
        name: String,
        seed: UInt64,
        mode: SimulationMode,
        faults: Bool,
        run failing: SimulationRun<Scenario.Outcome>,
        seedsRun: Int
    ) -> SimulationFailure {
        var scenario = found
        func failure(_ scenario: Scenario, _ choices: [Int], faults: Bool) -> SimulationRun<Scenario.Outcome>? {
            var schedule = ReplaySchedule(choices)
            let run = run(scenario, seed: seed, schedule: &schedule, faultSeed: faults ? faultSeed(seed) : nil, recordsEvents: false)
            return run.violations.isEmpty ? nil : run
        }
        var choices = failing.choices.map(\.index)
        var needsFaults = faults
        if faults, failure(scenario, choices, faults: false) != nil { needsFaults = false }
        if failure(scenario, choices, faults: needsFaults) != nil {
            var shrinking = true
            while shrinking {
                shrinking = false
                for candidate in scenario.smaller(seed: seed) {
                    guard let run = failure(candidate, choices, faults: needsFaults) ?? failure(candidate, [], faults: needsFaults) else { continue }
                    scenario = candidate
                    choices = run.choices.map(\.index)
                    shrinking = true
                    break
                }
            }
            for length in 0...choices.count where failure(scenario, Array(choices.prefix(length)), faults: needsFaults) != nil {
                choices = Array(choices.prefix(length))
                break
            }
            for index in choices.indices where choices[index] != 0 {
                var simpler = choices
                simpler[index] = 0
                if failure(scenario, simpler, faults: needsFaults) != nil { choices = simpler }
            }
            while choices.last == 0 { choices.removeLast() }
        } else {
            // Its choices replayed do not fail the same way (it should not happen): keep it as it was found.
            needsFaults = faults
        }
        var schedule = ReplaySchedule(choices)
        let shrunk = run(scenario, seed: seed, schedule: &schedule, faultSeed: needsFaults ? faultSeed(seed) : nil, recordsEvents: true)
        return SimulationFailure(
            scenario: name,
            seed: seed,
            mode: mode,
            seedsRun: seedsRun,
            violations: failing.violations,
            steps: failing.steps,
            choices: failing.choices,
            shrunkChoices: choices,
            shrunkSteps: shrunk.steps,
            shrunkNeedsFaults: needsFaults,
            shrunkTrace: shrunk.trace + (shrunk.violations.isEmpty ? "" : "\n" + shrunk.violations.joined(separator: "\n"))
        )
    }
}

/// Where the workload's task leaves its result; read by the driving thread once no job is left.
private final class OutcomeBox<Value: Sendable>: @unchecked Sendable {
    var value: Value?
}

extension Simulation {
    /// The seeds a test explores, from the environment: `SIMULATION_SEED=N` replays seed N alone (twice, and the two
    /// traces must agree), else `SIMULATION_SEEDS` seeds (default `defaultCount`) from `SIMULATION_START_SEED`
    /// (default 0).
    package static func seeds(defaultCount: Int) -> (seeds: Range<UInt64>, replaying: Bool) {
        let environment = ProcessInfo.processInfo.environment
        if let seed = environment["SIMULATION_SEED"].flatMap(UInt64.init) { return (seed..<seed + 1, true) }
        let count = environment["SIMULATION_SEEDS"].flatMap(UInt64.init) ?? UInt64(defaultCount)
        let start = environment["SIMULATION_START_SEED"].flatMap(UInt64.init) ?? 0
        return (start..<start + count, false)
    }

    /// Explores the seeds the environment names (``seeds(defaultCount:)``); a replay prints the run's trace, and fails
    /// when a second replay's trace differs.
    package static func explore<Scenario: SimulationScenario>(
        _ scenario: Scenario,
        mode: SimulationMode,
        faults: Bool,
        defaultSeeds: Int
    ) -> SimulationReport {
        let (seeds, replaying) = seeds(defaultCount: defaultSeeds)
        guard replaying else { return explore(scenario, mode: mode, seeds: seeds, faults: faults) }
        let first = replay(scenario, seed: seeds.lowerBound, mode: mode, faults: faults)
        let second = replay(scenario, seed: seeds.lowerBound, mode: mode, faults: faults)
        print("\(scenario.name) seed \(seeds.lowerBound) (\(mode)): \(first.steps) steps\n\(first.trace)")
        var report = explore(scenario, mode: mode, seeds: seeds, faults: faults)
        if first.trace != second.trace, report.failure == nil {
            report.failure = SimulationFailure(
                scenario: scenario.name, seed: seeds.lowerBound, mode: mode, seedsRun: 1,
                violations: ["two replays of one seed took different steps"], steps: first.steps, choices: first.choices,
                shrunkChoices: [], shrunkSteps: 0, shrunkNeedsFaults: faults, shrunkTrace: second.trace
            )
        }
        return report
    }
}

extension Simulation {
    /// Runs `body` on a thread of its own and waits for it without blocking: a simulation drives its executor
    /// synchronously for seconds, and must not hold one of the few threads of Swift's cooperative pool (two, on two
    /// cores) that the rest of a test run needs.
    package static func onOwnThread<Value: Sendable>(_ body: @escaping @Sendable () -> Value) async -> Value {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: body()) }
            thread.name = "simulation"
            thread.start()
        }
    }
}

extension Array {
    /// The array without one of its elements, for each element (none for an array of one or none): a workload's
    /// smaller workloads.
    package var eachWithOneLess: [[Element]] {
        guard count > 1 else { return [] }
        return indices.map { index in enumerated().filter { $0.offset != index }.map(\.element) }
    }
}
