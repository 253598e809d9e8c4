import Foundation
import Microblog
import Synchronization

/// The tables of one simulated database, shared by every ``SimulatedStore`` (one per simulated server), and the locks
/// of the engine it stands for.
///
/// It keeps the real stores' contract: every write is one transaction, whole or not at all; the user keys are unique
/// (a UNIQUE index refuses a duplicate as ``StoreError/conflict(_:)``, whatever checked before it). Where the engines
/// differ it models each: ``Engine/sqlite`` runs every write transaction under one write lock (`BEGIN IMMEDIATE`),
/// ``Engine/postgres`` runs at READ COMMITTED, where another transaction may commit between a check and the write,
/// and counts a login attempt one subject at a time under each subject's row lock, held to the end of the
/// transaction.
package final class SimulatedDatabase: Sendable {
    package enum Engine: Sendable, CustomStringConvertible {
        case sqlite
        case postgres

        package var description: String { self == .sqlite ? "SQLite" : "PostgreSQL" }
    }

    /// A stored user.
    package struct Row: Sendable, Equatable {
        package var id: Int64
        package var username: String
        package var usernameKey: IdentityKey
        package var lookAlikeKey: IdentityKey?
        package var email: String
        package var emailKey: IdentityKey
        package var aboutMe: String?
        package var lastSeen: Date
    }

    /// A stored login-attempt record.
    package struct LoginRecord: Sendable, Equatable {
        package var failures: Int
        package var firstFailure: Date
        package var blockedUntil: Date?
        package var forgetAt: Date
    }

    struct Tables {
        var users: [Row] = []
        var nextUserID: Int64 = 1
        var posts: [(id: Int64, authorID: Int64, body: String, at: Date)] = []
        var sessions: [String: (value: Data, userID: Int64?, expiresAt: Date?)] = [:]
        var tokens: [String: (token: RememberToken, expiresAt: Date)] = [:]
        var loginRecords: [String: LoginRecord] = [:]
        /// Claims of a user key inside a write, per server: the registry lets one at a time through.
        var claimsInWrite: [ClaimInWrite: Int] = [:]
    }

    struct ClaimInWrite: Hashable {
        var server: Int
        var field: String
        var key: IdentityKey
    }

    package let engine: Engine
    let tables = Mutex(Tables())
    let writeLock = SimulatedLock()
    let rowLocks = Mutex<[String: SimulatedLock]>([:])

    package init(engine: Engine) {
        self.engine = engine
    }

    /// The users, in id order.
    package var users: [Row] { tables.withLock { $0.users } }

    /// The login-attempt records, by subject.
    package var loginRecords: [String: LoginRecord] { tables.withLock { $0.loginRecords } }

    /// Adds a user directly (a workload's starting state); returns its id.
    @discardableResult
    package func seedUser(_ username: String, email: String) -> Int64 {
        tables.withLock { tables in
            defer { tables.nextUserID += 1 }
            tables.users.append(
                Row(
                    id: tables.nextUserID,
                    username: username,
                    usernameKey: IdentityKey(username),
                    lookAlikeKey: LookAlikeKey.of(username),
                    email: email,
                    emailKey: IdentityKey(email),
                    aboutMe: nil,
                    lastSeen: SimulationClock.epoch
                )
            )
            return tables.nextUserID
        }
    }

    func rowLock(_ subject: String) -> SimulatedLock {
        rowLocks.withLock { locks in
            if let lock = locks[subject] { return lock }
            let lock = SimulatedLock()
            locks[subject] = lock
            return lock
        }
    }
}

/// A lock whose waiters queue in order and suspend inside the simulation (a deadlock leaves them waiting, and the
/// run reports it).
final class SimulatedLock: Sendable {
    private struct State {
        var held = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    func lock() async {
        let acquired = state.withLock { state -> Bool in
            guard state.held else {
                state.held = true
                return true
            }
            return false
        }
        if acquired { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state -> Bool in
                guard state.held else {
                    state.held = true
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    /// Hands the lock to the first waiter, or frees it.
    func unlock() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.waiters.isEmpty else {
                state.held = false
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}
