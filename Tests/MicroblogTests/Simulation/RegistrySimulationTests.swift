import Microblog
import MicroblogSimulation
import Testing

/// The real ``UserRegistry`` under the deterministic simulation: seeded random and PCT schedules with faults, and
/// every schedule of small workloads, on both engines' models.
@Suite("Simulation: the username registry")
struct RegistrySimulationTests {
    @Test("Random schedules with faults, from seeds", arguments: [SimulatedDatabase.Engine.sqlite, .postgres])
    func randomSchedules(engine: SimulatedDatabase.Engine) async {
        let report = await Simulation.onOwnThread { Simulation.explore(RegistryScenario(engine: engine), mode: .random, faults: true, defaultSeeds: 2_500) }
        print(report)
        #expect(report.failure == nil, "\(report)")
    }

    @Test("PCT schedules (depth 3), from seeds", arguments: [SimulatedDatabase.Engine.sqlite, .postgres])
    func pctSchedules(engine: SimulatedDatabase.Engine) async {
        let report = await Simulation.onOwnThread { Simulation.explore(RegistryScenario(engine: engine), mode: .pct(depth: 3), faults: true, defaultSeeds: 2_500) }
        print(report)
        #expect(report.failure == nil, "\(report)")
    }

    @Test("Every schedule of two claims with one preemption at most", arguments: [SimulatedDatabase.Engine.sqlite, .postgres], RegistrySimulationTests.twoClaims)
    func everySchedule(engine: SimulatedDatabase.Engine, operations: [RegistryScenario.Operation]) async {
        var configured = RegistryScenario(engine: engine, operations: operations)
        configured.suspendsOnReturn = false
        let scenario = configured
        let report = await Simulation.onOwnThread { Simulation.exhaust(scenario, seed: 0, preemptions: 1, limit: 20_000) }
        print(report)
        #expect(report.failure == nil, "\(report)")
        #expect(report.complete, "\(report)")
    }

    /// Two registrations of one name in two spellings on one server: the schedules a reservation must order. (Two
    /// servers, or a registration beside a rename, make more than 20,000 schedules even with one preemption: the
    /// random and PCT runs cover those.)
    static let twoClaims: [[RegistryScenario.Operation]] = [
        [.register(server: 0, username: "cara", email: "c@example.com"), .register(server: 0, username: "Cara", email: "d@example.com")],
    ]
}
