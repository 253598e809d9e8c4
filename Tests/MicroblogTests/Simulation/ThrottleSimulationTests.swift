import Microblog
import MicroblogSimulation
import Testing

/// The real ``LoginThrottle`` under the deterministic simulation, against both engines' models of the admission
/// (SQLite's write lock; PostgreSQL's row locks, taken one subject at a time and held to the end of the transaction).
@Suite("Simulation: the login throttle")
struct ThrottleSimulationTests {
    @Test("Random schedules with faults, from seeds", arguments: [SimulatedDatabase.Engine.sqlite, .postgres])
    func randomSchedules(engine: SimulatedDatabase.Engine) async {
        let report = await Simulation.onOwnThread { Simulation.explore(ThrottleScenario(engine: engine), mode: .random, faults: true, defaultSeeds: 2_500) }
        print(report)
        #expect(report.failure == nil, "\(report)")
    }

    @Test("PCT schedules (depth 3), from seeds", arguments: [SimulatedDatabase.Engine.sqlite, .postgres])
    func pctSchedules(engine: SimulatedDatabase.Engine) async {
        let report = await Simulation.onOwnThread { Simulation.explore(ThrottleScenario(engine: engine), mode: .pct(depth: 3), faults: true, defaultSeeds: 2_500) }
        print(report)
        #expect(report.failure == nil, "\(report)")
    }
}
