import Foundation
import Logging

/// The microblog's storage, whatever the engine: one method per read and per write invariant.
///
/// Its promises, for every implementation (``SQLiteStore``, ``PostgresStore``):
/// - Every write method is one transaction: it happens whole or not at all.
/// - Every invariant that matters is also a constraint of the schema (UNIQUE normalised keys, lengths, foreign
///   keys), so a bug above this layer, or another server on the same database, cannot store a duplicate username.
/// - Methods throw ``StoreError`` only: a unique violation becomes ``StoreError/conflict(_:)`` naming the field,
///   an engine that cannot serve now becomes ``StoreError/unavailable(_:)`` (a 503). The engine's own errors
///   never travel further up, so controllers, the registry and the error pages do not know which engine runs.
package protocol Store: Sendable {
    /// Returns once the database has answered a trivial read of its schema; throws when it cannot serve.
    func checkHealth() async throws(StoreError)

    // MARK: Users

    /// Inserts a user, checking inside the transaction that none of its keys is held.
    /// - Throws: `.conflict(.username)`, `.conflict(.lookAlike)` or `.conflict(.email)` when taken (by the check or
    ///   by the UNIQUE index).
    func insertUser(_ new: NewUser, at now: Date) async throws(StoreError) -> User

    /// Changes a user's username (spelling or key), its look-alike key (nil: keep the stored one) and about-me text,
    /// checking inside the transaction that no other user holds the new keys.
    /// - Throws: `.conflict(.username)` or `.conflict(.lookAlike)` when another user holds one.
    func updateProfile(userID: Int64, username: String, usernameKey: IdentityKey, lookAlikeKey: IdentityKey?, aboutMe: String?) async throws(StoreError)

    /// Gives every user without a ``LookAlikeKey`` theirs, in id order (every user anew when ICU's data is not the
    /// data the stored keys came from), a bounded batch per transaction. A user whose key another user holds keeps
    /// none, and keeps their name: they are returned, to be reported.
    func assignLookAlikeKeys() async throws(StoreError) -> [LookAlikeName]

    /// Records that the user was seen at `date`.
    func touchLastSeen(userID: Int64, at date: Date) async throws(StoreError)

    /// The user with this id, if any.
    func user(id: Int64) async throws(StoreError) -> User?

    /// The user whose username normalises to `key`, if any.
    func user(usernameKey key: IdentityKey) async throws(StoreError) -> User?

    /// Which of these keys a user other than `exceptUserID` holds (a nil key: not asked). Advisory, so that a form
    /// shows every message at once; the ``UserRegistry`` decides at the write.
    func heldIdentityKeys(username: IdentityKey?, lookAlike: IdentityKey?, email: IdentityKey?, exceptUserID: Int64?) async throws(StoreError) -> HeldIdentityKeys

    // MARK: Posts

    /// Adds a post by `authorID` and marks the author as seen, in one transaction.
    func createPost(authorID: Int64, body: String, at now: Date) async throws(StoreError)

    /// Posts of everyone (`authorID` nil) or of one author, newest first, `perPage` of them from `position`, in one
    /// statement that seeks the `(timestamp, id)` index; nil when `position` names a post that is not in this feed.
    func posts(byAuthor authorID: Int64?, at position: PagePosition, perPage: Int) async throws(StoreError) -> Page<PostWithAuthor>?

    /// What a profile page shows, in one statement: the user whose username normalises to `key` and their posts at
    /// `position` (as ``posts(byAuthor:at:perPage:)`` pages them, nil when `position` names a post not theirs); nil
    /// when no user has that name.
    func userPage(usernameKey key: IdentityKey, at position: PagePosition, perPage: Int) async throws(StoreError) -> (user: User, posts: Page<PostWithAuthor>?)?

    /// The id of the post `offset` places from the newest (0: the newest) of everyone or of one author; nil past the
    /// last. For old `?page=N` links, whose page starts after it; `offset` is bounded by the caller.
    func postID(byAuthor authorID: Int64?, offset: Int) async throws(StoreError) -> Int64?

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

    /// Stores a session of `userID`, replacing one with the same key. With `expiresAt` nil an existing session keeps
    /// its expiry; with an expiry, sessions that expired before `now` are swept, and the user keeps at most
    /// `sessionsPerUser` sessions, the newest (by expiry), in the same transaction.
    func saveSession(key: String, value: Data, userID: Int64?, expiresAt: Date?, now: Date, sessionsPerUser: Int) async throws(StoreError)

    /// The stored session with this key, expired or not: its value and expiry, with the user the row names (its
    /// `user_id`, saved with the value) read in the same statement. `user` is nil when that user no longer exists or
    /// the row names none; a caller checks that `user` is the one the value it decodes names.
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
    /// An engine that locks rows takes them in the order of their subjects, as admission does (``LoginThrottle`` sorts
    /// an attempt's subjects), so that a settle and an admission never wait for each other in a cycle.
    func settleLoginAttempt(clearing: [String], releasing: [LoginLimit]) async throws(StoreError)
}

/// What a keyset seek for a ``PagePosition`` compares and orders by, in SQL both engines read: the anchor post's id,
/// the row-value comparison with the anchor's `(timestamp, id)`, and the direction of the index walk.
struct KeysetSeek {
    let anchor: Int64?
    let comparison: String
    let order: String

    init(_ position: PagePosition) {
        switch position {
        case .newest: (anchor, comparison, order) = (nil, "<", "DESC")
        case .olderThan(let id): (anchor, comparison, order) = (id, "<", "DESC")
        case .newerThan(let id): (anchor, comparison, order) = (id, ">", "ASC")
        }
    }
}

/// A statement's text for each way into a feed (the newest page, older than a post, newer than one), built once from
/// the ``KeysetSeek`` of each.
struct KeysetStatements: Sendable {
    private let newest: String
    private let older: String
    private let newer: String

    init(_ text: (KeysetSeek) -> String) {
        newest = text(KeysetSeek(.newest))
        older = text(KeysetSeek(.olderThan(postID: 1)))
        newer = text(KeysetSeek(.newerThan(postID: 1)))
    }

    subscript(position: PagePosition) -> String {
        switch position {
        case .newest: newest
        case .olderThan: older
        case .newerThan: newer
        }
    }
}

extension Page where Item == PostWithAuthor {
    /// The page at `position` made of the rows a store fetched for it: `perPage + 1` at most (the extra row says the
    /// feed goes on in the direction fetched), newest first, or oldest first for ``PagePosition/newerThan(postID:)``.
    package init(fetched: [PostWithAuthor], at position: PagePosition, perPage: Int) {
        let goesOn = fetched.count > perPage
        switch position {
        case .newest, .olderThan:
            let items = Array(fetched.prefix(perPage))
            let newer: PagePosition? = if case .newest = position { nil } else { items.first.map { .newerThan(postID: $0.id) } ?? .newest }
            self.init(items: items, newer: newer, older: goesOn ? items.last.map { .olderThan(postID: $0.id) } : nil)
        case .newerThan(let postID):
            let items = Array(fetched.prefix(perPage).reversed())
            self.init(
                items: items,
                newer: goesOn ? items.first.map { .newerThan(postID: $0.id) } : nil,
                older: .olderThan(postID: items.last?.id ?? postID)
            )
        }
    }
}

/// One subject's allowance of login attempts, as the store counts them for ``Store/admitLoginAttempt(_:now:)``.
package struct LoginLimit: Sendable, Equatable {
    /// The subject's storage key (a bounded digest).
    package var subject: String
    /// Attempts admitted within ``window`` before the subject is blocked.
    package var allowed: Int
    /// Seconds after the first counted attempt in which the count accumulates.
    package var window: Double
    /// Seconds of the first block; each further admitted attempt doubles it.
    package var baseBackoff: Double
    /// Seconds a block lasts at most.
    package var maximumBackoff: Double

    /// How long the store keeps a record after `now`: the window, or the longest block, whichever is longer.
    package var retention: Double { max(window, maximumBackoff) }
}

/// A stored remember-me token, found by its selector.
package struct RememberToken: Sendable, Equatable {
    /// The HMAC of the validator the browser holds now.
    package var validatorHash: Data
    /// The HMAC of the validator it held before the last rotation, and when that rotation was.
    package var previousHash: Data?
    package var rotatedAt: Date?
    package var userID: Int64

    package init(validatorHash: Data, previousHash: Data? = nil, rotatedAt: Date? = nil, userID: Int64) {
        self.validatorHash = validatorHash
        self.previousHash = previousHash
        self.rotatedAt = rotatedAt
        self.userID = userID
    }
}

/// Which of the keys asked about another user holds.
package struct HeldIdentityKeys: Sendable, Equatable {
    package var username: Bool
    /// Another user's name looks like this one (their ``LookAlikeKey`` is the same).
    package var lookAlike: Bool
    package var email: Bool

    package init(username: Bool, lookAlike: Bool, email: Bool) {
        self.username = username
        self.lookAlike = lookAlike
        self.email = email
    }
}

/// A user whose name looks like an earlier user's, both registered before the look-alike rule: both keep their names.
package struct LookAlikeName: Sendable, Equatable, CustomStringConvertible {
    package var username: String
    package var looksLike: String

    package init(username: String, looksLike: String) {
        self.username = username
        self.looksLike = looksLike
    }

    package var description: String { "\(username) looks like \(looksLike)" }

    /// Logs each pair a store reported at start, as a warning.
    static func report(_ names: [LookAlikeName], to logger: Logger) {
        for name in names {
            logger.warning("Two names from before the look-alike rule look the same, and both keep them: \(name)")
        }
    }
}

extension Store {
    /// Posts of everyone, newest first, from `position`; nil when `position` names no post.
    func posts(at position: PagePosition, perPage: Int) async throws(StoreError) -> Page<PostWithAuthor>? {
        try await posts(byAuthor: nil, at: position, perPage: perPage)
    }

    /// The newest `perPage` posts of everyone or of one author.
    package func newestPosts(byAuthor authorID: Int64? = nil, perPage: Int) async throws(StoreError) -> Page<PostWithAuthor> {
        try await posts(byAuthor: authorID, at: .newest, perPage: perPage) ?? Page(items: [], newer: nil, older: nil)
    }
}
