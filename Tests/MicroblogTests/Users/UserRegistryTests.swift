import Foundation
import GRDB
import Testing
@testable import Microblog

/// Where UserRegistry's promise is proved: of concurrent claims on one name, exactly one wins, the others get
/// "taken", and the tutorial's validate-then-commit approach demonstrably does not hold under the same schedule.
@Suite("UserRegistry: atomic username and e-mail claims")
struct UserRegistryTests {
    /// Runs `body` with a fresh store on `backend` (its own file or database), removed afterwards.
    private func withStore(
        _ backend: Backend,
        _ body: @escaping @Sendable (TestEnvironment, any Store) async throws -> Void
    ) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        try await env.withStore { try await body(env, $0) }
    }

    private static func makeUsers(_ registry: UserRegistry, count: Int, prefix: String = "user") async throws -> [Int64] {
        var ids: [Int64] = []
        for index in 0..<count {
            let user = try await registry.register(username: "\(prefix)\(index)", email: "\(prefix)\(index)@example.com", passwordHash: "x")
            ids.append(try #require(user.id))
        }
        return ids
    }

    // MARK: Normalisation

    @Test("One key for case, width and composition variants; the store and the actor agree", arguments: Backend.all)
    func identityKeys(_ backend: Backend) async throws {
        #expect(IdentityKey("Alice") == IdentityKey("alice"))
        #expect(IdentityKey("ＡＬＩＣＥ") == IdentityKey("alice"))
        #expect(IdentityKey(" alice ") == IdentityKey("alice"))
        #expect(IdentityKey("caf\u{E9}") == IdentityKey("cafe\u{301}"))
        #expect(IdentityKey("caf\u{E9}").rawValue.utf8.elementsEqual(IdentityKey("cafe\u{301}").rawValue.utf8))
        #expect(IdentityKey("alice") != IdentityKey("alice2"))

        try await withStore(backend) { (_, database) async throws in
            let registry = UserRegistry(database: database)
            _ = try await registry.register(username: "caf\u{E9}", email: "a@example.com", passwordHash: "x")
            for variant in ["cafe\u{301}", "CAF\u{C9}", "ｃａｆé"] {
                await #expect(throws: RegistryError.usernameTaken) {
                    _ = try await registry.register(username: variant, email: "\(UUID())@example.com", passwordHash: "x")
                }
            }
            await #expect(throws: RegistryError.emailTaken) {
                _ = try await registry.register(username: "other", email: "A@EXAMPLE.COM", passwordHash: "x")
            }
            let stored = try #require(try await database.user(usernameKey: IdentityKey("CAFE\u{301}")))
            #expect(stored.username == "caf\u{E9}", "the user's own spelling is kept")
        }
    }

    @Test("The UNIQUE index is the backstop: a write that skips the registry still gets the same error", arguments: Backend.all)
    func uniqueIndexBackstop(_ backend: Backend) async throws {
        try await withStore(backend) { (_, database) async throws in
            let registry = UserRegistry(database: database)
            let ids = try await Self.makeUsers(registry, count: 2)
            try await database.updateProfile(userID: ids[0], username: "taken", usernameKey: IdentityKey("taken"), lookAlikeKey: LookAlikeKey.of("taken"), aboutMe: nil)
            // Bypass the in-transaction check to hit the index itself.
            let error = await #expect(throws: StoreError.self) {
                try await StoreBackdoor.renameBypassingChecks(database, userID: ids[1], to: "TAKEN")
            }
            #expect(error == .conflict(.username))
            #expect(RegistryError(error!) == .usernameTaken)
        }
    }

    // MARK: The race, reproduced

    /// The tutorial's approach: validate (is the name free?), then commit, as two steps.
    struct NaiveRenamer {
        let database: any Store
        let betweenCheckAndWrite: Gate

        func rename(userID: Int64, to name: String) async throws(StoreError) -> Bool {
            guard try await database.user(usernameKey: IdentityKey(name)) == nil else { return false }
            await betweenCheckAndWrite.pass()
            try await StoreBackdoor.renameBypassingChecks(database, userID: userID, to: name)
            return true
        }
    }

    @Test("a. Validate-then-commit: both renames pass the check and one dies on the UNIQUE constraint", arguments: Backend.all)
    func naiveRaceHappens(_ backend: Backend) async throws {
        try await withStore(backend) { (_, database) async throws in
            let registry = UserRegistry(database: database)
            let ids = try await Self.makeUsers(registry, count: 2)
            let gate = Gate()
            let renamer = NaiveRenamer(database: database, betweenCheckAndWrite: gate)
            async let first = outcome { () async throws(StoreError) -> Bool in try await renamer.rename(userID: ids[0], to: "winner") }
            async let second = outcome { () async throws(StoreError) -> Bool in try await renamer.rename(userID: ids[1], to: "winner") }
            try await gate.waitForArrivals(2) // both checks said "free"
            await gate.open()
            let results = await [first, second]
            let violations = results.filter { if case .failure(.conflict(.username)) = $0 { true } else { false } }
            #expect(await gate.arrivals == 2, "both requests passed validation")
            #expect(violations.count == 1, "the tutorial's fix still ends in a constraint violation (a 500 in Flask)")
        }
    }

    @Test("a'. Without the UNIQUE index, validate-then-commit stores a duplicate")
    func naiveRaceWithoutIndexDuplicates() async throws {
        try await withTemporaryDirectory { directory in
            let queue = try DatabaseQueue(path: directory.file("no-index.db"))
            try await queue.write { db in try db.execute(sql: "CREATE TABLE user (id INTEGER PRIMARY KEY, username_key TEXT)") }
            let gate = Gate()
            @Sendable func register(_ name: String) async throws {
                let count = try await queue.read { db in
                    try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM user WHERE username_key = ?", arguments: [name]) ?? 0
                }
                guard count == 0 else { return }
                await gate.pass()
                try await queue.write { db in try db.execute(sql: "INSERT INTO user (username_key) VALUES (?)", arguments: [name]) }
            }
            async let first: Void = register("winner")
            async let second: Void = register("winner")
            try await gate.waitForArrivals(2)
            await gate.open()
            _ = try await (first, second)
            let count = try await queue.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM user WHERE username_key = 'winner'") }
            #expect(count == 2, "two users hold one name")
        }
    }

    @Test("b. The same schedule through UserRegistry: exactly one winner, the other gets 'taken'", arguments: Backend.all)
    func registryRaceRegistration(_ backend: Backend) async throws {
        try await withStore(backend) { (_, database) async throws in
            let gate = Gate()
            let registry = UserRegistry(database: database, hooks: RegistryHooks(beforePersist: { _ in await gate.pass() }))
            async let first = outcome { () async throws(RegistryError) -> User in
                try await registry.register(username: "winner", email: "one@example.com", passwordHash: "x")
            }
            try await gate.waitForArrivals(1) // the first claim is suspended inside its persist step, holding the reservation
            let second = await outcome { () async throws(RegistryError) -> User in
                try await registry.register(username: "WINNER", email: "two@example.com", passwordHash: "x")
            }
            #expect(second.failure == .usernameTaken, "rejected while the first claim is still in flight")
            await gate.open()
            let winner = try await first.get()
            #expect(winner.username == "winner")
            #expect(await gate.arrivals == 1, "the loser never reached the database")
            let holders = try await database.countUsers(usernameKey: IdentityKey("winner"))
            #expect(holders == 1)
            #expect(await registry.claimsInFlight == 0)
        }
    }

    @Test("b. Renames through UserRegistry under the injected suspension: exactly one winner", arguments: Backend.all)
    func registryRaceRename(_ backend: Backend) async throws {
        try await withStore(backend) { (_, database) async throws in
            let plain = UserRegistry(database: database)
            let ids = try await Self.makeUsers(plain, count: 2)
            let gate = Gate()
            let registry = UserRegistry(database: database, hooks: RegistryHooks(beforePersist: { _ in await gate.pass() }))
            async let first = outcome { () async throws(RegistryError) in
                try await registry.updateProfile(userID: ids[0], username: "winner", aboutMe: nil)
            }
            try await gate.waitForArrivals(1)
            let second = await outcome { () async throws(RegistryError) in
                try await registry.updateProfile(userID: ids[1], username: "Winner", aboutMe: nil)
            }
            #expect(second.failure == .usernameTaken)
            await gate.open()
            let firstOutcome = await first
            #expect(firstOutcome.failure == nil)
            let holder = try #require(try await database.user(usernameKey: IdentityKey("winner")))
            #expect(holder.id == ids[0])
        }
    }

    @Test("b. Keeping one's own name while a registration of it is in flight on the same server: saved, and the registration is 'taken'", arguments: Backend.all)
    func keepOwnNameDuringRegistration(_ backend: Backend) async throws {
        try await withStore(backend) { (_, database) async throws in
            let alice = try #require(try await UserRegistry(database: database)
                .register(username: "alice", email: "alice@example.com", passwordHash: "x").id)
            let hold = FirstClaimHold()
            let registry = UserRegistry(database: database, hooks: RegistryHooks(beforePersist: { _ in await hold.pass() }))
            async let registration = outcome { () async throws(RegistryError) -> User in
                try await registry.register(username: "ALICE", email: "mallory@example.com", passwordHash: "x")
            }
            try await hold.gate.waitForArrivals(1) // the registration holds its reservation of "alice", suspended
            let kept = await outcome { () async throws(RegistryError) in
                try await registry.updateProfile(userID: alice, username: "Alice", aboutMe: "still me", currentUsername: "alice")
            }
            #expect(kept.failure == nil, "her own name is not 'taken' from her")
            await hold.gate.open()
            #expect(await registration.failure == .usernameTaken)
            let holder = try #require(try await database.user(usernameKey: IdentityKey("alice")))
            #expect(holder.id == alice && holder.username == "Alice" && holder.aboutMe == "still me")
            #expect(await registry.claimsInFlight == 0)
        }
    }

    @Test("A claim that meets an unavailable store (another client holds the write lock past the timeout) fails as unavailable, holds nothing afterwards, and the name is free once the lock is gone; needs no root", arguments: Backend.all)
    func claimMeetsUnavailableStore(_ backend: Backend) async throws {
        var configured = try await TestEnvironment(backend)
        configured.configuration.postgres?.lockTimeout = .seconds(1)
        let env = configured
        defer { env.removeFiles() }
        try await env.withStore { store in
            let registry = UserRegistry(database: store)
            let lock = DatabaseLock(env, table: #""user""#)
            try await lock.take()
            let refused = await outcome { () async throws(RegistryError) -> User in
                try await registry.register(username: "alice", email: "alice@example.com", passwordHash: "x")
            }
            try await lock.release()
            guard case .store(.unavailable) = refused.failure else {
                Issue.record("expected the store to be unavailable, got \(refused)")
                return
            }
            #expect(await registry.claimsInFlight == 0, "the reservation was released")
            #expect(try await store.user(usernameKey: IdentityKey("alice")) == nil, "nothing was written")
            let user = try await registry.register(username: "alice", email: "alice@example.com", passwordHash: "x")
            #expect(user.username == "alice", "the name was not left taken")
        }
    }

    @Test("b. E-mail claims are atomic too", arguments: Backend.all)
    func registryRaceEmail(_ backend: Backend) async throws {
        try await withStore(backend) { (_, database) async throws in
            let gate = Gate()
            let registry = UserRegistry(database: database, hooks: RegistryHooks(beforePersist: { _ in await gate.pass() }))
            async let first = outcome { () async throws(RegistryError) -> User in
                try await registry.register(username: "one", email: "same@example.com", passwordHash: "x")
            }
            try await gate.waitForArrivals(1)
            let second = await outcome { () async throws(RegistryError) -> User in
                try await registry.register(username: "two", email: "SAME@example.com", passwordHash: "x")
            }
            #expect(second.failure == .emailTaken)
            await gate.open()
            let winner = try await first.get()
            #expect(winner.username == "one")
        }
    }

    // MARK: Stress

    @Test("c. 1,000 concurrent claims of one name by 100 users: exactly one holder", arguments: Backend.all)
    func stressOneName(_ backend: Backend) async throws {
        try await withStore(backend) { (_, database) async throws in
            let registry = UserRegistry(database: database)
            let ids = try await Self.makeUsers(registry, count: 100)
            let start = ContinuousClock.now
            let winners = await withTaskGroup(of: Int64?.self) { group in
                for claim in 0..<1_000 {
                    let userID = ids[claim % ids.count]
                    group.addTask {
                        do throws(RegistryError) {
                            try await registry.updateProfile(userID: userID, username: "Popular", aboutMe: nil)
                            return userID
                        } catch {
                            #expect(error == .usernameTaken)
                            return nil
                        }
                    }
                }
                var winners = Set<Int64>()
                for await winner in group { if let winner { winners.insert(winner) } }
                return winners
            }
            let elapsed = ContinuousClock.now - start
            #expect(winners.count == 1)
            #expect(try await database.countUsers(usernameKey: IdentityKey("popular")) == 1)
            let holder = try #require(try await database.user(usernameKey: IdentityKey("popular")))
            #expect(winners == [holder.id!], "the registry and the database agree on the holder")
            #expect(await registry.claimsInFlight == 0)
            print("stress (\(backend.testDescription)): 1000 claims, 100 users, 1 name -> \(winners.count) holder in \(elapsed)")
        }
    }

    @Test("c. 10,000 concurrent registrations over 100 names: each name exactly one holder", arguments: Backend.all)
    func stressManyNames(_ backend: Backend) async throws {
        try await withStore(backend) { (_, database) async throws in
            let registry = UserRegistry(database: database)
            let start = ContinuousClock.now
            let successes = await withTaskGroup(of: String?.self) { group in
                for claim in 0..<10_000 {
                    group.addTask {
                        let name = "name\(claim % 100)"
                        do throws(RegistryError) {
                            _ = try await registry.register(username: name, email: "claim\(claim)@example.com", passwordHash: "x")
                            return name
                        } catch {
                            #expect(error == .usernameTaken)
                            return nil
                        }
                    }
                }
                var successes: [String: Int] = [:]
                for await name in group { if let name { successes[name, default: 0] += 1 } }
                return successes
            }
            let elapsed = ContinuousClock.now - start
            #expect(successes.count == 100)
            #expect(successes.values.allSatisfy { $0 == 1 })
            for index in 0..<100 {
                #expect(try await database.countUsers(usernameKey: IdentityKey("NAME\(index)")) == 1)
            }
            #expect(try await StoreBackdoor.userCount(database) == 100)
            #expect(await registry.claimsInFlight == 0)
            print("stress (\(backend.testDescription)): 10000 claims, 100 names -> \(successes.count) names with one holder each in \(elapsed)")
        }
    }

    @Test(
        "c. Two registries on one database (two server instances): the transaction and index still give one holder",
        arguments: Backend.all
    )
    func twoRegistriesOneDatabase(_ backend: Backend) async throws {
        try await withStore(backend) { (env, database) async throws in
            try await env.withStore { (other) async throws -> Void in
                let registries = [UserRegistry(database: database), UserRegistry(database: other)]
                let successes = await withTaskGroup(of: Bool.self) { group in
                    for claim in 0..<200 {
                        group.addTask {
                            do throws(RegistryError) {
                                _ = try await registries[claim % 2].register(username: "shared", email: "c\(claim)@example.com", passwordHash: "x")
                                return true
                            } catch {
                                #expect(error == .usernameTaken)
                                return false
                            }
                        }
                    }
                    var count = 0
                    for await success in group where success { count += 1 }
                    return count
                }
                #expect(successes == 1)
                #expect(try await database.countUsers(usernameKey: IdentityKey("shared")) == 1)
            }
        }
    }
}

/// Runs a typed-throwing async body and captures its outcome.
func outcome<Success, Failure: Error>(_ body: () async throws(Failure) -> Success) async -> Result<Success, Failure> {
    do throws(Failure) {
        return .success(try await body())
    } catch {
        return .failure(error)
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { error } else { nil }
    }
}

/// Holds the first claim that reaches the database at ``gate`` until it opens; later claims pass straight through.
actor FirstClaimHold {
    let gate = Gate()
    private var held = false

    func pass() async {
        guard !held else { return }
        held = true
        await gate.pass()
    }
}
