import Testing
@testable import Microblog

/// `withDeadline`, which bounds every PostgreSQL call: the caller's answer never waits for an operation that
/// ignores cancellation.
@Suite("Deadline")
struct DeadlineTests {
    struct TimedOut: Error, Equatable {}
    struct Failed: Error, Equatable {}

    @Test("An operation that ignores cancellation: the caller gets the timeout error, the operation runs on")
    func operationIgnoringCancellation() async throws {
        let gate = Gate()
        await #expect(throws: TimedOut()) {
            try await withDeadline(.milliseconds(50), throwing: TimedOut()) {
                await gate.pass() // suspends until the gate opens, cancelled or not
                return 1
            }
        }
        // The operation still runs (cancelled, but not listening): it reaches the gate and waits there.
        try await gate.waitForArrivals(1)
        await gate.open()
    }

    @Test("A result or an error before the deadline is the answer")
    func answerBeforeDeadline() async throws {
        let value = try await withDeadline(.seconds(60), throwing: TimedOut()) { 42 }
        #expect(value == 42)
        await #expect(throws: Failed()) {
            try await withDeadline(.seconds(60), throwing: TimedOut()) { () async throws -> Int in throw Failed() }
        }
    }

    @Test("Cancelling the caller cancels the operation and ends the wait")
    func callerCancelled() async throws {
        let started = Gate()
        let caller = Task {
            try await withDeadline(.seconds(600), throwing: TimedOut()) {
                await started.pass()
                try await Task.sleep(for: .seconds(600))
            }
        }
        try await started.waitForArrivals(1)
        await started.open()
        caller.cancel()
        await #expect(throws: CancellationError.self) { try await caller.value }
    }
}
