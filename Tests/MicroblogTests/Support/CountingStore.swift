import Foundation
import NIOConcurrencyHelpers
@testable import Microblog

/// A ``Store`` that passes every call on to another and writes down its name: how many storage calls, and which,
/// a request makes.
final class CountingStore: Store {
    let base: any Store
    private let log = NIOLockedValueBox<[String]>([])

    init(_ base: any Store) {
        self.base = base
    }

    /// The calls made while `body` runs, in order (nothing else may use the store meanwhile).
    func calls(during body: () async throws -> Void) async throws -> [String] {
        log.withLockedValue { $0 = [] }
        try await body()
        return log.withLockedValue { $0 }
    }

    private func count(_ name: String = #function) {
        log.withLockedValue { $0.append(name) }
    }

    func checkHealth() async throws(StoreError) {
        count()
        try await base.checkHealth()
    }

    func insertUser(_ new: NewUser, at now: Date) async throws(StoreError) -> User {
        count()
        return try await base.insertUser(new, at: now)
    }

    func updateProfile(userID: Int64, username: String, usernameKey: IdentityKey, lookAlikeKey: IdentityKey?, aboutMe: String?) async throws(StoreError) {
        count()
        try await base.updateProfile(userID: userID, username: username, usernameKey: usernameKey, lookAlikeKey: lookAlikeKey, aboutMe: aboutMe)
    }

    func assignLookAlikeKeys() async throws(StoreError) -> [LookAlikeName] {
        count()
        return try await base.assignLookAlikeKeys()
    }

    func touchLastSeen(userID: Int64, at date: Date) async throws(StoreError) {
        count()
        try await base.touchLastSeen(userID: userID, at: date)
    }

    func user(id: Int64) async throws(StoreError) -> User? {
        count()
        return try await base.user(id: id)
    }

    func user(usernameKey key: IdentityKey) async throws(StoreError) -> User? {
        count()
        return try await base.user(usernameKey: key)
    }

    func heldIdentityKeys(username: IdentityKey?, lookAlike: IdentityKey?, email: IdentityKey?, exceptUserID: Int64?) async throws(StoreError) -> HeldIdentityKeys {
        count()
        return try await base.heldIdentityKeys(username: username, lookAlike: lookAlike, email: email, exceptUserID: exceptUserID)
    }

    func createPost(authorID: Int64, body: String, at now: Date) async throws(StoreError) {
        count()
        try await base.createPost(authorID: authorID, body: body, at: now)
    }

    func posts(byAuthor authorID: Int64?, at position: PagePosition, perPage: Int) async throws(StoreError) -> Microblog.Page<PostWithAuthor>? {
        count()
        return try await base.posts(byAuthor: authorID, at: position, perPage: perPage)
    }

    func userPage(
        usernameKey key: IdentityKey, at position: PagePosition, perPage: Int
    ) async throws(StoreError) -> (user: User, posts: Microblog.Page<PostWithAuthor>?)? {
        count()
        return try await base.userPage(usernameKey: key, at: position, perPage: perPage)
    }

    func postID(byAuthor authorID: Int64?, offset: Int) async throws(StoreError) -> Int64? {
        count()
        return try await base.postID(byAuthor: authorID, offset: offset)
    }

    func insertRememberToken(selector: String, validatorHash: Data, userID: Int64, expiresAt: Date) async throws(StoreError) {
        count()
        try await base.insertRememberToken(selector: selector, validatorHash: validatorHash, userID: userID, expiresAt: expiresAt)
    }

    func rememberToken(selector: String, now: Date) async throws(StoreError) -> RememberToken? {
        count()
        return try await base.rememberToken(selector: selector, now: now)
    }

    func rotateRememberToken(selector: String, from current: Data, to next: Data, at now: Date) async throws(StoreError) -> Bool {
        count()
        return try await base.rotateRememberToken(selector: selector, from: current, to: next, at: now)
    }

    func revokeUser(_ userID: Int64) async throws(StoreError) {
        count()
        try await base.revokeUser(userID)
    }

    func deleteRememberToken(selector: String) async throws(StoreError) {
        count()
        try await base.deleteRememberToken(selector: selector)
    }

    func saveSession(key: String, value: Data, userID: Int64?, expiresAt: Date?, now: Date, sessionsPerUser: Int) async throws(StoreError) {
        count()
        try await base.saveSession(key: key, value: value, userID: userID, expiresAt: expiresAt, now: now, sessionsPerUser: sessionsPerUser)
    }

    func session(key: String) async throws(StoreError) -> (value: Data, expiresAt: Date?, user: User?)? {
        count()
        return try await base.session(key: key)
    }

    func deleteSession(key: String) async throws(StoreError) {
        count()
        try await base.deleteSession(key: key)
    }

    func admitLoginAttempt(_ limits: [LoginLimit], now: Date) async throws(StoreError) -> Date? {
        count()
        return try await base.admitLoginAttempt(limits, now: now)
    }

    func settleLoginAttempt(clearing: [String], releasing: [LoginLimit]) async throws(StoreError) {
        count()
        try await base.settleLoginAttempt(clearing: clearing, releasing: releasing)
    }
}
