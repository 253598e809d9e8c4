import Foundation

/// The microblog's storage, whatever the engine: one method per read and per write invariant.
///
/// Its promises, for every implementation (``SQLiteStore``, ``PostgresStore``):
/// - Every write method is one transaction: it happens whole or not at all.
/// - Every invariant that matters is also a constraint of the schema (UNIQUE normalised keys, lengths, foreign
///   keys), so a bug above this layer, or another server on the same database, cannot store a duplicate username.
/// - Methods throw ``StoreError`` only: a unique violation becomes ``StoreError/conflict(_:)`` naming the field,
///   an engine that cannot serve now becomes ``StoreError/unavailable(_:)`` (a 503). The engine's own errors
///   never travel further up, so controllers, the registry and the error pages do not know which engine runs.
public protocol Store: Sendable {
    /// Returns once the database has answered a trivial read of its schema; throws when it cannot serve.
    func checkHealth() async throws(StoreError)

    // MARK: Users

    /// Inserts a user, checking inside the transaction that neither key is held.
    /// - Throws: `.conflict(.username)` or `.conflict(.email)` when taken (by the check or by the UNIQUE index).
    func insertUser(_ new: NewUser, at now: Date) async throws(StoreError) -> User

    /// Changes a user's username (spelling or key) and about-me text, checking inside the transaction that no
    /// other user holds the new key.
    /// - Throws: `.conflict(.username)` when another user holds it.
    func updateProfile(userID: Int64, username: String, usernameKey: IdentityKey, aboutMe: String?) async throws(StoreError)

    /// Records that the user was seen at `date`.
    func touchLastSeen(userID: Int64, at date: Date) async throws(StoreError)

    /// The user with this id, if any.
    func user(id: Int64) async throws(StoreError) -> User?

    /// The user whose username normalises to `key`, if any.
    func user(usernameKey key: IdentityKey) async throws(StoreError) -> User?

    /// Which of these keys a user other than `exceptUserID` holds (a nil key: not asked). Advisory, so that a form
    /// shows every message at once; the ``UserRegistry`` decides at the write.
    func heldIdentityKeys(username: IdentityKey?, email: IdentityKey?, exceptUserID: Int64?) async throws(StoreError) -> HeldIdentityKeys

    // MARK: Posts

    /// Adds a post by `authorID` and marks the author as seen, in one transaction.
    func createPost(authorID: Int64, body: String, at now: Date) async throws(StoreError)

    /// Posts of everyone (`authorID` nil) or of one author, newest first, `perPage` at a time; `page` counts from 1.
    func posts(byAuthor authorID: Int64?, page: Int, perPage: Int) async throws(StoreError) -> Page<PostWithAuthor>

    /// What a profile page shows, in one statement: the user whose username normalises to `key` and page `page` of
    /// their posts (as ``posts(byAuthor:page:perPage:)`` pages them); nil when no user has that name.
    func userPage(usernameKey key: IdentityKey, page: Int, perPage: Int) async throws(StoreError) -> (user: User, posts: Page<PostWithAuthor>)?

    // MARK: Remember-me tokens

    /// Stores a remember-me token: the selector finds it, only the hash of the validator is kept.
    func insertRememberToken(selector: String, validatorHash: Data, userID: Int64, expiresAt: Date) async throws(StoreError)

    /// The unexpired token with this selector.
    func rememberToken(selector: String, now: Date) async throws(StoreError) -> RememberToken?

    /// Rotates a token: its validator hash becomes `next`, and `current` is kept as the previous one with the time,
    /// only while `current` is still its hash (of two requests that rotate one token at once, one does).
    /// - Returns: whether this call rotated it.
    func rotateRememberToken(selector: String, from current: Data, to next: Data, at now: Date) async throws(StoreError) -> Bool

    /// Revokes a remember-me token.
    func deleteRememberToken(selector: String) async throws(StoreError)

    /// Signs a user out everywhere: deletes all their remember-me tokens and sessions, in one transaction.
    func revokeUser(_ userID: Int64) async throws(StoreError)

    // MARK: Sessions (and so the CSRF tokens kept in them)

    /// Stores a new session of `userID` (nil: of nobody).
    /// - Throws: `.conflict(.other)` when a session with this key exists.
    func insertSession(key: String, value: Data, userID: Int64?, expiresAt: Date?) async throws(StoreError)

    /// Stores a session of `userID`, replacing one with the same key. With `expiresAt` nil an existing session keeps
    /// its expiry; with an expiry, sessions that expired before `now` are swept, and the user keeps at most
    /// `sessionsPerUser` sessions, the newest (by expiry), in the same transaction.
    func saveSession(key: String, value: Data, userID: Int64?, expiresAt: Date?, now: Date, sessionsPerUser: Int) async throws(StoreError)

    /// The stored session with this key, expired or not: its value and expiry, with the user its value names
    /// (``SessionState/userIDMember``) read in the same statement. `user` is nil when that user no longer exists or
    /// the value names none (it is not a ``SessionState``); a caller checks that `user` is the one it decodes.
    func session(key: String) async throws(StoreError) -> (value: Data, expiresAt: Date?, user: User?)?

    /// Deletes a session.
    func deleteSession(key: String) async throws(StoreError)

    // MARK: Login attempts (``LoginThrottle``; shared by every instance on the database)

    /// Counts one login attempt against every subject of `limits`, or against none, in one transaction: for each
    /// subject (in the order given) one statement that increments its count and returns it, unless the subject is
    /// blocked. Past its allowance within its window a subject is blocked for a backoff that doubles with each
    /// further admitted attempt, up to its maximum. Expired records are swept in the same transaction.
    /// - Returns: nil when the attempt is admitted (and counted for every subject); otherwise nothing is counted
    ///   and the answer is when the first blocked subject is unblocked.
    func admitLoginAttempt(_ limits: [LoginLimit], now: Date) async throws(StoreError) -> Date?

    /// After a successful login: deletes the records of `clearing`, and gives the attempt back to each subject of
    /// `releasing` (its count less one, and no longer blocked once that is below its allowance), in one transaction.
    func settleLoginAttempt(clearing: [String], releasing: [LoginLimit]) async throws(StoreError)
}

extension Page {
    /// The rows to fetch for page `page` (counted from 1; anything lower is 1) of `perPage` items: one more than a
    /// page, so that the extra row tells whether an older page exists.
    static func window(page: Int, perPage: Int) -> (number: Int, limit: Int, offset: Int) {
        let number = max(1, page)
        return (number, perPage + 1, (number - 1) * perPage)
    }

    /// Page `number` made of the rows fetched for ``window(page:perPage:)``.
    init(fetched: [Item], number: Int, perPage: Int) {
        self.init(items: Array(fetched.prefix(perPage)), number: number, hasNewer: number > 1, hasOlder: fetched.count > perPage)
    }
}

/// One subject's allowance of login attempts, as the store counts them for ``Store/admitLoginAttempt(_:now:)``.
public struct LoginLimit: Sendable, Equatable {
    /// The subject's storage key (a bounded digest).
    public var subject: String
    /// Attempts admitted within ``window`` before the subject is blocked.
    public var allowed: Int
    /// Seconds after the first counted attempt in which the count accumulates.
    public var window: Double
    /// Seconds of the first block; each further admitted attempt doubles it.
    public var baseBackoff: Double
    /// Seconds a block lasts at most.
    public var maximumBackoff: Double

    /// How long the store keeps a record after `now`: the window, or the longest block, whichever is longer.
    var retention: Double { max(window, maximumBackoff) }
}

/// A stored remember-me token, found by its selector.
public struct RememberToken: Sendable, Equatable {
    /// The HMAC of the validator the browser holds now.
    public var validatorHash: Data
    /// The HMAC of the validator it held before the last rotation, and when that rotation was.
    public var previousHash: Data?
    public var rotatedAt: Date?
    public var userID: Int64
}

/// Which of the keys asked about another user holds.
public struct HeldIdentityKeys: Sendable, Equatable {
    public var username: Bool
    public var email: Bool
}

extension Store {
    /// Posts of everyone, newest first.
    func posts(page: Int, perPage: Int) async throws(StoreError) -> Page<PostWithAuthor> {
        try await posts(byAuthor: nil, page: page, perPage: perPage)
    }
}
