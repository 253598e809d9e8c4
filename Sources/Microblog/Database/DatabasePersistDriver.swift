import Foundation
import Hummingbird

/// hummingbird-auth's session storage, kept in the store's `session` table so sessions (and the CSRF tokens in
/// them) survive restarts, are shared by every server instance on one database, and a deleted session (logout)
/// stops working everywhere at once. Each row names its user, who keeps at most `sessionsPerUser` sessions (the
/// oldest goes first). Loading a session reads the user it names in the same statement and leaves that user in the
/// request's ``SessionLoad`` for ``StoreSessionMiddleware``.
package struct DatabasePersistDriver: PersistDriver {
    let database: any Store
    /// Sessions one user keeps at most; the oldest goes first.
    let sessionsPerUser: Int

    package init(database: any Store, sessionsPerUser: Int) {
        self.database = database
        self.sessionsPerUser = sessionsPerUser
    }

    package func create<Object: Codable & Sendable>(key: String, value: Object, expires: Duration?) async throws {
        let data = try JSONEncoder().encode(value)
        let expiresAt = expires.map { Date.now.addingTimeInterval($0.seconds) }
        do {
            try await database.insertSession(key: key, value: data, userID: (value as? SessionState)?.userID, expiresAt: expiresAt)
        } catch {
            if case .conflict = error { throw PersistError.duplicate }
            throw error
        }
    }

    package func set<Object: Codable & Sendable>(key: String, value: Object, expires: Duration?) async throws {
        let data = try JSONEncoder().encode(value)
        let now = Date.now
        try await database.saveSession(
            key: key,
            value: data,
            userID: (value as? SessionState)?.userID,
            expiresAt: expires.map { now.addingTimeInterval($0.seconds) },
            now: now,
            sessionsPerUser: sessionsPerUser
        )
    }

    package func get<Object: Codable & Sendable>(key: String, as type: Object.Type) async throws -> Object? {
        try await getWithTTL(key: key, as: type)?.object
    }

    package func getWithTTL<Object: Codable & Sendable>(key: String, as type: Object.Type) async throws -> (object: Object, ttl: Duration?)? {
        let now = Date.now
        let stored: (value: Data, expiresAt: Date?, user: User?)?
        do {
            stored = try await database.session(key: key)
        } catch {
            // The session middleware swallows this error; StoreSessionMiddleware turns it into a 503.
            SessionLoad.current?.record(error)
            throw error
        }
        guard let (data, expiresAt, user) = stored else { return nil }
        if let expiresAt, expiresAt <= now { return nil }
        do {
            let object = try JSONDecoder().decode(Object.self, from: data)
            SessionLoad.current?.record(user: user)
            return (object, expiresAt.map { .milliseconds(Int64($0.timeIntervalSince(now) * 1000)) })
        } catch {
            // Not a value this server wrote: the session is treated as absent, and the operator is told.
            SessionLoad.current?.recordUnreadable()
            throw PersistError.invalidConversion
        }
    }

    package func remove(key: String) async throws {
        try await database.deleteSession(key: key)
    }
}
