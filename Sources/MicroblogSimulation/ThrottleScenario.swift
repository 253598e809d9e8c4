import Foundation
import Microblog
import Synchronization

/// Login attempts for one account from one client network, through the real ``LoginThrottle`` of one or two servers
/// sharing a ``SimulatedDatabase``: each is admitted or refused, an admitted one spends a step in the password check,
/// and some succeed (the throttle settles them).
///
/// After every run: attempts in the password check at once never exceed the smaller allowance; the attempts admitted
/// never exceed the allowance plus the attempts given back by a success; the client network's stored count is the
/// attempts admitted less those given back (nothing counted for a refused attempt, nothing lost); every attempt ends.
package struct ThrottleScenario: SimulationScenario {
    /// One attempt: the server it reaches and whether its password is right.
    package struct Attempt: Sendable, CustomStringConvertible {
        package var server: Int
        package var succeeds: Bool

        package var description: String { "server \(server): attempt (\(succeeds ? "right" : "wrong") password)" }
    }

    package struct Outcome: Sendable {
        var attempts: [Attempt]
        var admitted: Int
        var givenBack: Int
        var mostInCheck: Int
        var clientCount: Int
        var faults: Int
        var storageErrors: Int
    }

    package var engine: SimulatedDatabase.Engine
    /// The attempts, or nil: drawn from each seed (three to five, over one or two servers, one in four right).
    package var attempts: [Attempt]?
    package var faultRate = 25
    /// The account's allowance, and the client network's (smaller, so that its refusal rolls the account's back).
    package var accountAllowance = 3
    package var clientAllowance = 2

    package init(engine: SimulatedDatabase.Engine, attempts: [Attempt]? = nil) {
        self.engine = engine
        self.attempts = attempts
    }

    package var choicePoints: Int { 60 }

    package var name: String { "ThrottleScenario (\(engine))" }

    static let account = IdentityKey("ada")
    static let client = "198.51.100.7"

    package func workload(seed: UInt64) -> [Attempt] {
        if let attempts { return attempts }
        var random = SimulationRandom(seed: seed ^ 0x7_4807_71E)
        let servers = Int.random(in: 1...2, using: &random)
        return (0..<Int.random(in: 3...5, using: &random)).map { _ in
            Attempt(server: Int.random(in: 0..<servers, using: &random), succeeds: random.oneIn(4))
        }
    }

    package func smaller(seed: UInt64) -> [ThrottleScenario] {
        workload(seed: seed).eachWithOneLess.map { attempts in
            var smaller = self
            smaller.attempts = attempts
            return smaller
        }
    }

    package func play(seed: UInt64, in context: SimulationContext) async -> Outcome {
        let database = SimulatedDatabase(engine: engine)
        let attempts = workload(seed: seed)
        context.note("workload (\(engine)): \(attempts.map(\.description).joined(separator: "; "))")
        let servers = (attempts.map(\.server).max() ?? 0) + 1
        let policy = LoginThrottle.Policy(
            allowedFailures: accountAllowance,
            allowedClientFailures: clientAllowance,
            clock: context.date
        )
        let throttles = (0..<servers).map { server in
            LoginThrottle(policy: policy, store: SimulatedStore(database: database, server: server, context: context, faultRate: faultRate))
        }
        let tally = Tally()
        let subjects = LoginThrottle.subjects(account: Self.account, device: nil, client: Self.client)
        await withDiscardingTaskGroup { group in
            for attempt in attempts {
                group.addTask {
                    await context.operation("\(attempt)") {
                        let throttle = throttles[attempt.server]
                        do throws(StoreError) {
                            guard try await throttle.admit(subjects) == nil else { return }
                            tally.enterCheck()
                            await context.step("server \(attempt.server): password check")
                            tally.leaveCheck()
                            if attempt.succeeds {
                                try await throttle.settleSuccess(subjects)
                                tally.gaveBack()
                            }
                        } catch {
                            tally.storageError()
                        }
                    }
                }
            }
        }
        let clientSubject = subjects.first { if case .client = $0 { true } else { false } }
        let clientKey = clientSubject.map { policy.limit(for: $0).subject }
        return tally.state.withLock { state in
            Outcome(
                attempts: attempts,
                admitted: state.admitted,
                givenBack: state.givenBack,
                mostInCheck: state.mostInCheck,
                clientCount: clientKey.flatMap { database.loginRecords[$0]?.failures } ?? 0,
                faults: context.journal.faults,
                storageErrors: state.storageErrors
            )
        }
    }

    package func violations(of outcome: Outcome, seed: UInt64) -> [String] {
        var violations: [String] = []
        let smaller = min(accountAllowance, clientAllowance)
        if outcome.mostInCheck > smaller {
            violations.append("\(outcome.mostInCheck) attempts were in the password check at once (allowance \(smaller))")
        }
        if outcome.admitted > smaller + outcome.givenBack {
            violations.append("\(outcome.admitted) attempts admitted, \(outcome.givenBack) given back: more than the allowance \(smaller)")
        }
        if outcome.clientCount != outcome.admitted - outcome.givenBack {
            violations.append(
                "the client network's count is \(outcome.clientCount), but \(outcome.admitted) attempts were admitted and \(outcome.givenBack) given back"
            )
        }
        if outcome.storageErrors > 0, outcome.faults == 0 {
            violations.append("\(outcome.storageErrors) storage errors with no fault injected")
        }
        return violations
    }
}

/// What the attempts of a run did, counted as they did it.
private final class Tally: Sendable {
    struct State {
        var admitted = 0
        var inCheck = 0
        var mostInCheck = 0
        var givenBack = 0
        var storageErrors = 0
    }

    let state = Mutex(State())

    func enterCheck() {
        state.withLock { state in
            state.admitted += 1
            state.inCheck += 1
            state.mostInCheck = max(state.mostInCheck, state.inCheck)
        }
    }

    func leaveCheck() { state.withLock { $0.inCheck -= 1 } }
    func gaveBack() { state.withLock { $0.givenBack += 1 } }
    func storageError() { state.withLock { $0.storageErrors += 1 } }
}
