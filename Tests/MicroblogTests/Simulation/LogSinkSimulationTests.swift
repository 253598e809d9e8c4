import Microblog
import MicroblogSimulation
import Testing

/// The real ``LogSink`` under the deterministic simulation: its actor on the simulation's executor, its mail loop on
/// virtual time, a mail server that fails when the seed says so.
@Suite("Simulation: the log sink")
struct LogSinkSimulationTests {
    @Test("Random schedules with mail failures, from seeds")
    func randomSchedules() async {
        let report = await Simulation.onOwnThread { Simulation.explore(LogSinkScenario(), mode: .random, faults: true, defaultSeeds: 1_000) }
        print(report)
        #expect(report.failure == nil, "\(report)")
    }

    @Test("PCT schedules (depth 3), from seeds")
    func pctSchedules() async {
        let report = await Simulation.onOwnThread { Simulation.explore(LogSinkScenario(), mode: .pct(depth: 3), faults: true, defaultSeeds: 1_000) }
        print(report)
        #expect(report.failure == nil, "\(report)")
    }
}
