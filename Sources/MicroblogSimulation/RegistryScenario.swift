import Foundation
import Microblog
import Synchronization

/// Registrations and renames racing for names and e-mail addresses through the real ``UserRegistry`` of one or two
/// servers sharing a ``SimulatedDatabase``.
///
/// After every run: one holder per name key, look-alike key and e-mail key; the registrations and renames that
/// succeeded are those of some sequential order, which leads to the stored users (the sequential reference); every
/// refusal names a key that another user or claim has; a storage error only where a fault was injected; of the
/// claims of one key on one server, one at a time reaches the database (the registry's own promise); no claim left
/// in flight.
package struct RegistryScenario: SimulationScenario {
    package enum Operation: Sendable, Equatable, CustomStringConvertible {
        case register(server: Int, username: String, email: String)
        /// A user renaming themself (they read their current name first, as the profile page does).
        case rename(server: Int, userID: Int64, to: String)

        package var description: String {
            switch self {
            case .register(let server, let username, let email): "server \(server): register \(username) <\(email)>"
            case .rename(let server, let userID, let name): "server \(server): user \(userID) renames to \(name)"
            }
        }

        var server: Int {
            switch self {
            case .register(let server, _, _), .rename(let server, _, _): server
            }
        }
    }

    /// What an operation was told.
    package enum Answer: Sendable, Equatable {
        case registered(Int64)
        case renamed
        case refused(RegistryError)
    }

    package struct Outcome: Sendable {
        var operations: [Operation]
        var answers: [Answer]
        var users: [SimulatedDatabase.Row]
        var claimsInFlight: [Int]
        var faults: Int
    }

    package var engine: SimulatedDatabase.Engine
    /// The users present before the workload: user 1 and user 2.
    package var initialUsers = [("ada", "ada@example.com"), ("bob", "bob@example.com")]
    /// The operations, or nil: drawn from each seed (three or four, over one or two servers).
    package var operations: [Operation]?
    /// One in how many store calls a fault is injected (when the exploration asks for faults).
    package var faultRate = 25
    /// Whether a store's answers travel back in a step of their own (see ``SimulatedStore/suspendsOnReturn``).
    package var suspendsOnReturn = true

    package init(engine: SimulatedDatabase.Engine, operations: [Operation]? = nil) {
        self.engine = engine
        self.operations = operations
    }

    package var choicePoints: Int { 60 }

    package var name: String { "RegistryScenario (\(engine))" }

    /// Names that collide: one key in two spellings, a look-alike (Cyrillic а), an existing user's name.
    static let names = ["cara", "Cara", "c\u{0430}ra", "ada", "dan", "b\u{043E}b"]
    static let emails = ["c@example.com", "d@example.com", "ada@example.com"]

    /// The workload of `seed`.
    package func workload(seed: UInt64) -> [Operation] {
        if let operations { return operations }
        var random = SimulationRandom(seed: seed ^ 0x5EED_0F_0B5)
        let servers = Int.random(in: 1...2, using: &random)
        var renamed: Set<Int64> = []
        return (0..<Int.random(in: 3...4, using: &random)).map { _ in
            let server = Int.random(in: 0..<servers, using: &random)
            let name = Self.names.randomElement(using: &random) ?? "cara"
            let userID = Int64.random(in: 1...2, using: &random)
            if random.oneIn(3), !renamed.contains(userID) {
                renamed.insert(userID)
                return .rename(server: server, userID: userID, to: name)
            }
            return .register(server: server, username: name, email: Self.emails.randomElement(using: &random) ?? "c@example.com")
        }
    }

    package func smaller(seed: UInt64) -> [RegistryScenario] {
        workload(seed: seed).eachWithOneLess.map { operations in
            var smaller = self
            smaller.operations = operations
            return smaller
        }
    }

    package func play(seed: UInt64, in context: SimulationContext) async -> Outcome {
        let database = SimulatedDatabase(engine: engine)
        for (name, email) in initialUsers { database.seedUser(name, email: email) }
        let operations = workload(seed: seed)
        context.note("workload (\(engine)): \(operations.map(\.description).joined(separator: "; "))")
        let servers = (operations.map(\.server).max() ?? 0) + 1
        let stores = (0..<servers).map { server in
            var store = SimulatedStore(database: database, server: server, context: context, faultRate: faultRate)
            store.suspendsOnReturn = suspendsOnReturn
            return store
        }
        let registries = stores.map { UserRegistry(database: $0, clock: context.date) }
        // A discarding group: the workload's own task wakes once, when every operation has ended, and adds no
        // choices of its own to the schedule.
        let answers = Answers(count: operations.count)
        await withDiscardingTaskGroup { group in
            for (index, operation) in operations.enumerated() {
                group.addTask {
                    let answer = await context.operation("\(operation)") {
                        await Self.perform(operation, registry: registries[operation.server], store: stores[operation.server])
                    }
                    answers.values.withLock { $0[index] = answer }
                }
            }
        }
        var claimsInFlight: [Int] = []
        for registry in registries { claimsInFlight.append(await registry.claimsInFlight) }
        return Outcome(
            operations: operations,
            answers: answers.values.withLock { $0.map { $0 ?? .refused(.store(.failure("no answer", location: ""))) } },
            users: database.users,
            claimsInFlight: claimsInFlight,
            faults: context.journal.faults
        )
    }

    private static func perform(_ operation: Operation, registry: UserRegistry, store: SimulatedStore) async -> Answer {
        do throws(RegistryError) {
            switch operation {
            case .register(_, let username, let email):
                let user = try await registry.register(username: username, email: email, passwordHash: "hash")
                return .registered(user.id ?? -1)
            case .rename(_, let userID, let name):
                let current: User?
                do { current = try await store.user(id: userID) } catch { return .refused(.store(error)) }
                try await registry.updateProfile(userID: userID, username: name, aboutMe: nil, currentUsername: current?.username)
                return .renamed
            }
        } catch {
            return .refused(error)
        }
    }

    package func violations(of outcome: Outcome, seed: UInt64) -> [String] {
        var violations: [String] = []
        let users = outcome.users
        for (field, key) in [("name", \SimulatedDatabase.Row.usernameKey.rawValue), ("e-mail", \.emailKey.rawValue)] {
            let keys = users.map { $0[keyPath: key] }
            if Set(keys).count != keys.count { violations.append("two users hold one \(field) key: \(users.map(\.username))") }
        }
        let lookAlikes = users.compactMap(\.lookAlikeKey?.rawValue)
        if Set(lookAlikes).count != lookAlikes.count { violations.append("two users hold one look-alike key: \(users.map(\.username))") }
        if outcome.claimsInFlight.contains(where: { $0 != 0 }) {
            violations.append("claims left in flight after the run: \(outcome.claimsInFlight)")
        }
        for (index, (operation, answer)) in zip(outcome.operations, outcome.answers).enumerated() {
            if case .refused(let error) = answer {
                if case .store = error {
                    if outcome.faults == 0 { violations.append("\(operation): a storage error with no fault injected: \(error)") }
                } else if !refusalIsJustified(error, of: index, in: outcome) {
                    violations.append("\(operation): told \(error), but no other user or claim has that key")
                }
            }
        }
        if !hasSequentialOrder(outcome) {
            violations.append(
                "no sequential order of the successful operations leads to the stored users: "
                    + "\(zip(outcome.operations, outcome.answers).map { "\($0) → \($1)" }) stored \(users.map { "\($0.id):\($0.username)" })"
            )
        }
        return violations
    }

    /// The keys an operation claims, by field.
    private func keys(of operation: Operation) -> [Field: IdentityKey] {
        switch operation {
        case .register(_, let username, let email):
            [.name: Keys.name(username), .lookAlike: Keys.lookAlike(username), .email: Keys.name(email)]
        case .rename(_, _, let name):
            [.name: Keys.name(name), .lookAlike: Keys.lookAlike(name)]
        }
    }

    /// A refusal names a key that a user (other than the one renaming) held before the run or holds after it, or
    /// that another operation claimed.
    private func refusalIsJustified(_ error: RegistryError, of index: Int, in outcome: Outcome) -> Bool {
        let operation = outcome.operations[index]
        guard let field = Field(error), let key = keys(of: operation)[field] else { return false }
        let selfID: Int64? = if case .rename(_, let userID, _) = operation { userID } else { nil }
        let initial = initialUsers.enumerated().map { index, user in
            (id: Int64(index + 1), keys: keys(of: .register(server: 0, username: user.0, email: user.1)))
        }
        if initial.contains(where: { $0.id != selfID && $0.keys[field] == key }) { return true }
        if outcome.users.contains(where: { $0.id != selfID && Self.key(of: $0, for: field) == key }) { return true }
        return outcome.operations.indices.contains { other in other != index && keys(of: outcome.operations[other])[field] == key }
    }

    private static func key(of row: SimulatedDatabase.Row, for field: Field) -> IdentityKey? {
        switch field {
        case .name: row.usernameKey
        case .lookAlike: row.lookAlikeKey
        case .email: row.emailKey
        }
    }

    /// Whether applying the successful operations one at a time, in some order, to the users before the run, with
    /// each one valid when it is applied, gives the stored users.
    private func hasSequentialOrder(_ outcome: Outcome) -> Bool {
        struct Reference: Equatable {
            var users: [Int64: (name: String, lookAlike: IdentityKey?, email: IdentityKey)]

            static func == (lhs: Reference, rhs: Reference) -> Bool {
                lhs.users.count == rhs.users.count && lhs.users.allSatisfy { id, user in
                    guard let other = rhs.users[id] else { return false }
                    return other.name == user.name && other.lookAlike == user.lookAlike && other.email == user.email
                }
            }

            func holds(name: IdentityKey, except id: Int64?) -> Bool {
                users.contains { $0.key != id && Keys.name($0.value.name) == name }
            }

            func holds(lookAlike: IdentityKey, except id: Int64?) -> Bool {
                users.contains { $0.key != id && $0.value.lookAlike == lookAlike }
            }

            /// Applies one successful operation; false when it would not have been valid here.
            mutating func apply(_ operation: Operation, _ answer: Answer) -> Bool {
                switch (operation, answer) {
                case (.register(_, let username, let email), .registered(let id)):
                    let lookAlike = Keys.lookAlike(username)
                    guard users[id] == nil, !holds(name: Keys.name(username), except: nil), !holds(lookAlike: lookAlike, except: nil),
                          !users.values.contains(where: { $0.email == Keys.name(email) })
                    else { return false }
                    users[id] = (username, lookAlike, Keys.name(email))
                    return true
                case (.rename(_, let userID, let name), .renamed):
                    guard let user = users[userID], !holds(name: Keys.name(name), except: userID) else { return false }
                    let lookAlike = Keys.lookAlike(name)
                    let keeps = Keys.lookAlike(user.name) == lookAlike
                    if !keeps, holds(lookAlike: lookAlike, except: userID) { return false }
                    users[userID] = (name, keeps ? user.lookAlike : lookAlike, user.email)
                    return true
                default:
                    return false
                }
            }
        }
        var start = Reference(users: [:])
        for (index, user) in initialUsers.enumerated() {
            start.users[Int64(index + 1)] = (user.0, Keys.lookAlike(user.0), Keys.name(user.1))
        }
        var stored = Reference(users: [:])
        for row in outcome.users { stored.users[row.id] = (row.username, row.lookAlikeKey, row.emailKey) }
        let successes = zip(outcome.operations, outcome.answers).filter { _, answer in
            if case .refused = answer { return false }
            return true
        }
        func search(_ state: Reference, _ remaining: [(Operation, Answer)]) -> Bool {
            if remaining.isEmpty { return state == stored }
            for index in remaining.indices {
                var next = state
                guard next.apply(remaining[index].0, remaining[index].1) else { continue }
                var rest = remaining
                rest.remove(at: index)
                if search(next, rest) { return true }
            }
            return false
        }
        return search(start, successes)
    }
}

/// The field a refusal names.
private enum Field: Hashable {
    case name, lookAlike, email

    init?(_ error: RegistryError) {
        switch error {
        case .usernameTaken: self = .name
        case .nameTooSimilar: self = .lookAlike
        case .emailTaken: self = .email
        case .store: return nil
        }
    }
}

/// The reference's keys, computed once per name (ICU's skeleton is the costly part of a run's check). Explorations on
/// threads of their own share it, so it is guarded by a pthread lock (NSLock), which ThreadSanitizer sees; it does not
/// see the futex inside Synchronization's Mutex, and reported the two threads' accesses as a race.
private enum Keys {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var cache: [String: (name: IdentityKey, lookAlike: IdentityKey)] = [:]

    private static func keys(_ text: String) -> (name: IdentityKey, lookAlike: IdentityKey) {
        if let known = lock.withLock({ cache[text] }) { return known }
        let keys = (IdentityKey(text), LookAlikeKey.of(text))
        lock.withLock { cache[text] = keys }
        return keys
    }

    static func name(_ text: String) -> IdentityKey { keys(text).name }
    static func lookAlike(_ text: String) -> IdentityKey { keys(text).lookAlike }
}

/// Where each operation of a workload leaves its answer.
private final class Answers: Sendable {
    let values: Mutex<[RegistryScenario.Answer?]>

    init(count: Int) {
        values = Mutex(Array(repeating: nil, count: count))
    }
}
