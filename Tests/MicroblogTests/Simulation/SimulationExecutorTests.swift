import MicroblogSimulation
import Synchronization
import Testing

/// The simulator itself, on a planted race: the tutorial's validate-then-commit claim of a name, written as an actor
/// that checks, awaits, then inserts. Each mode must find the duplicate, a seed must replay the same trace, and the
/// shrunk failure must still fail.
@Suite("Simulation: the executor finds, replays and shrinks a race")
struct SimulationExecutorTests {
    @Test("Random schedules find the duplicate, and its seed replays the same trace twice")
    func randomFindsAndReplays() throws {
        let report = Simulation.explore(NaiveScenario(clients: 3), mode: .random, seeds: 0..<1_000, faults: false)
        let failure = try #require(report.failure, "\(report)")
        #expect(failure.violations.contains { $0.contains("holders of cara") })
        let first = Simulation.replay(NaiveScenario(clients: 3), seed: failure.seed, mode: .random, faults: false)
        let second = Simulation.replay(NaiveScenario(clients: 3), seed: failure.seed, mode: .random, faults: false)
        #expect(!first.violations.isEmpty)
        #expect(first.trace == second.trace)
        #expect(first.choices == failure.choices)
    }

    @Test("A shrunk failure fails again from its choices, with no more departures from the first-ready order")
    func shrunkFailureFails() throws {
        let report = Simulation.explore(NaiveScenario(clients: 4), mode: .random, seeds: 0..<1_000, faults: false)
        let failure = try #require(report.failure, "\(report)")
        #expect(failure.shrunkDepartures <= failure.departures)
        #expect(failure.shrunkTrace.contains("VIOLATION") || failure.shrunkTrace.contains("holders"))
        var schedule = ReplaySchedule(failure.shrunkChoices)
        let again = Simulation.run(NaiveScenario(clients: 4), seed: failure.seed, schedule: &schedule, faultSeed: nil, recordsEvents: true)
        #expect(again.violations.contains { $0.contains("holders of cara") })
    }

    @Test("PCT finds the duplicate")
    func pctFinds() {
        let report = Simulation.explore(NaiveScenario(clients: 3), mode: .pct(depth: 2), seeds: 0..<1_000, faults: false)
        #expect(report.failure != nil, "\(report)")
    }

    @Test("The bounded exhaustive walk finds the duplicate, and without it enumerates every schedule")
    func exhaustiveFinds() {
        let racing = Simulation.exhaust(NaiveScenario(clients: 2), seed: 0, preemptions: 1, limit: 10_000)
        #expect(racing.failure != nil, "\(racing)")
        let alone = Simulation.exhaust(NaiveScenario(clients: 1), seed: 0, preemptions: 1, limit: 10_000)
        #expect(alone.failure == nil && alone.complete, "\(alone)")
    }

    @Test("Virtual time: sleepers wake in deadline order, and only when nothing else can run")
    func virtualTime() {
        let report = Simulation.explore(Sleepers(), mode: .random, seeds: 0..<200, faults: false)
        #expect(report.failure == nil, "\(report)")
    }
}

/// The validate-then-commit claim: the check and the insert are two actor steps with a suspension between them.
private actor NaiveNames {
    private var held: [String: Int] = [:]

    func claim(_ name: String, by client: Int, context: SimulationContext) async -> Bool {
        guard held[name] == nil else { return false }
        await context.step("client \(client): \(name) is free")
        held[name, default: 0] += 1
        context.note("client \(client): holds \(name)")
        return true
    }

    var holders: [String: Int] { held }
}

/// `clients` clients each claim "cara", then a different name; two holders of one name is the violation.
private struct NaiveScenario: SimulationScenario {
    var clients: Int

    var choicePoints: Int { 4 * clients }

    func play(seed: UInt64, in context: SimulationContext) async -> [String: Int] {
        let names = NaiveNames()
        await withDiscardingTaskGroup { group in
            for client in 0..<clients {
                group.addTask {
                    _ = await names.claim("cara", by: client, context: context)
                    _ = await names.claim("name-\(client)", by: client, context: context)
                }
            }
        }
        return await names.holders
    }

    func violations(of holders: [String: Int], seed: UInt64) -> [String] {
        holders.filter { $0.value > 1 }.map { "\($0.value) holders of \($0.key)" }
    }
}

/// Three sleepers and a task that does not sleep, on the virtual clock.
private struct Sleepers: SimulationScenario {
    var choicePoints: Int { 4 }

    func play(seed: UInt64, in context: SimulationContext) async -> [String] {
        let order = Lines()
        let clock = context.clock
        await withDiscardingTaskGroup { group in
            for (name, seconds) in [("late", 30), ("early", 10), ("middle", 20)] {
                group.addTask {
                    try? await clock.sleep(until: clock.now.advanced(by: .seconds(seconds)), tolerance: nil)
                    order.lines.withLock { $0.append("\(name) at \(clock.now.offset)") }
                }
            }
            group.addTask { order.lines.withLock { $0.append("busy at \(clock.now.offset)") } }
        }
        return order.lines.withLock { $0 }
    }

    func violations(of order: [String], seed: UInt64) -> [String] {
        order == ["busy at 0.0 seconds", "early at 10.0 seconds", "middle at 20.0 seconds", "late at 30.0 seconds"] ? [] : ["\(order)"]
    }
}

private final class Lines: Sendable {
    let lines = Mutex<[String]>([])
}
