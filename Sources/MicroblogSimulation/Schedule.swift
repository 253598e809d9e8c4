/// Picks which ready job runs next. Each schedule is deterministic: the same choices for the same run.
package protocol Schedule {
    /// Whether jobs are told apart by task (``SimulationExecutor/init(tracksThreads:)``).
    var needsThreads: Bool { get }

    /// The index of the job to run among the ready ones; `threads` names each one's task (0: an actor's job).
    mutating func choose(among threads: [Int]) -> Int

    /// Told the task of every job that runs, chosen or not.
    mutating func ran(thread: Int)
}

extension Schedule {
    package mutating func ran(thread: Int) {}
}

/// A small, fast, seedable generator (SplitMix64): the same seed gives the same numbers on every machine.
package struct SimulationRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    package init(seed: UInt64) {
        state = seed
    }

    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Whether an event of probability `1/oneIn` happens.
    package mutating func oneIn(_ oneIn: Int) -> Bool {
        oneIn > 0 && Int.random(in: 0..<oneIn, using: &self) == 0
    }
}

/// Every choice uniform among the ready jobs.
package struct RandomSchedule: Schedule {
    private var random: SimulationRandom

    package init(seed: UInt64) {
        random = SimulationRandom(seed: seed)
    }

    package var needsThreads: Bool { false }

    package mutating func choose(among threads: [Int]) -> Int {
        Int.random(in: 0..<threads.count, using: &random)
    }
}

/// Probabilistic concurrency testing (Burckhardt et al., ASPLOS 2010): each task gets a random priority and the
/// highest-priority ready task runs; at `depth - 1` random choice points the running task drops below every other.
/// A bug that needs `depth` ordering constraints is found with probability at least 1/(n·k^(depth-1)) per run
/// (n tasks, k choice points), where uniform random choices can need far more runs.
package struct PCTSchedule: Schedule {
    private var random: SimulationRandom
    private var priorities: [Int: Int] = [:]
    private var changePoints: [Int]
    private var point = 0
    private var lowered = 0

    /// - Parameters:
    ///   - depth: the number of ordering constraints sought (1: priorities alone, no change point).
    ///   - choicePoints: about how many choices a run makes; the change points fall among them.
    package init(seed: UInt64, depth: Int, choicePoints: Int) {
        var random = SimulationRandom(seed: seed)
        let span = max(1, choicePoints)
        changePoints = (0..<max(0, depth - 1)).map { _ in Int.random(in: 0..<span, using: &random) }.sorted()
        priorities[0] = Int.random(in: 1_000...1_000_000, using: &random)
        self.random = random
    }

    package var needsThreads: Bool { true }

    package mutating func choose(among threads: [Int]) -> Int {
        defer { point += 1 }
        for thread in threads where priorities[thread] == nil {
            priorities[thread] = Int.random(in: 1_000...1_000_000, using: &random)
        }
        var best = highest(threads)
        while let first = changePoints.first, first <= point {
            changePoints.removeFirst()
            lowered += 1
            priorities[threads[best]] = -lowered
            best = highest(threads)
        }
        return best
    }

    private func highest(_ threads: [Int]) -> Int {
        var best = 0
        for index in threads.indices where (priorities[threads[index]] ?? 0) > (priorities[threads[best]] ?? 0) {
            best = index
        }
        return best
    }
}

/// The choices given, in order; past their end (or where a choice is out of range) the first ready job. Replays a
/// recorded run, walks the tree of schedules in an exhaustive search, and tries a failure's shrunk choices.
package struct ReplaySchedule: Schedule {
    private let choices: [Int]
    private var point = 0

    package init(_ choices: [Int]) {
        self.choices = choices
    }

    package var needsThreads: Bool { false }

    package mutating func choose(among threads: [Int]) -> Int {
        defer { point += 1 }
        guard point < choices.count else { return 0 }
        return min(choices[point], threads.count - 1)
    }
}

/// One schedule of a depth-first walk over every schedule with at most `preemptions` preemptions (CHESS's iterative
/// context bounding): a choice that leaves a task which could go on, for another, is a preemption; past the bound
/// the task that ran last goes on whenever it can. `ranks` are the choices to make, as positions in each choice
/// point's list of allowed jobs (the last task's first); past their end, the first allowed.
package struct BoundedSchedule: Schedule {
    private let given: [Int]
    private let preemptions: Int
    private var used = 0
    private var last: Int?
    /// Every choice made, as a position among the allowed jobs and their number: the walk's next step comes from it.
    package private(set) var ranks: [Choice] = []

    package init(ranks: [Int], preemptions: Int) {
        given = ranks
        self.preemptions = preemptions
    }

    package var needsThreads: Bool { true }

    package mutating func choose(among threads: [Int]) -> Int {
        let continuing = last.flatMap { last in threads.firstIndex(of: last) }
        var allowed: [Int]
        if let continuing {
            allowed = used < preemptions ? [continuing] + threads.indices.filter { $0 != continuing } : [continuing]
        } else {
            allowed = Array(threads.indices)
        }
        let rank = ranks.count < given.count ? min(given[ranks.count], allowed.count - 1) : 0
        ranks.append(Choice(index: rank, of: allowed.count))
        if continuing != nil, rank != 0 { used += 1 }
        return allowed[rank]
    }

    package mutating func ran(thread: Int) {
        last = thread
    }
}
