import Testing

@Suite("The race tests' Gate fails a schedule that goes wrong instead of hanging")
struct GateTests {
    @Test("Waiting for arrivals that never come throws GateTimeout after the limit")
    func arrivalsThatNeverCome() async throws {
        let gate = Gate(limit: .milliseconds(200))
        await #expect(throws: GateTimeout.self) { try await gate.waitForArrivals(1) }
    }

    @Test("A task held at a gate nobody opens is let through after the limit, with a recorded issue")
    func heldAtAClosedGate() async throws {
        let gate = Gate(limit: .milliseconds(200))
        await withKnownIssue("the gate was never opened") {
            await gate.pass()
        }
        #expect(await gate.arrivals == 1)
    }

    @Test("An opened gate and arrivals in time pass with no issue")
    func inTime() async throws {
        let gate = Gate(limit: .seconds(120))
        async let through: Void = gate.pass()
        try await gate.waitForArrivals(1)
        await gate.open()
        await through
        #expect(await gate.arrivals == 1)
    }
}
