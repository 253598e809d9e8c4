import Foundation

/// The only code that decides who holds a username, a name that looks like it, or an e-mail address.
///
/// Its promise: of any number of concurrent claims on one ``IdentityKey`` (a username's, a username's
/// ``LookAlikeKey``, an e-mail address's), at most one succeeds, and the loser gets ``RegistryError/usernameTaken``,
/// ``RegistryError/nameTooSimilar`` or ``RegistryError/emailTaken``, never a server error. A registration reserves
/// its three keys together, a rename its two, before its first `await`.
/// - Within the process, a claim is reserved synchronously, with no suspension point between the check and the
///   reservation, before the first `await`; the reservation is released in `defer`. Actor re-entrancy cannot
///   interleave two claims on one key.
/// - The write that persists a claim is one transaction that checks again inside it, and the UNIQUE indexes on
///   the keys are the backstop across processes: a constraint violation from any path becomes the same error.
package actor UserRegistry {
    private let database: any Store
    private let hooks: RegistryHooks
    private let clock: @Sendable () -> Date
    private nonisolated let metrics: AppMetrics
    /// Keys with a claim in flight, and who is claiming each.
    private var claims: [Claim: Claimant] = [:]

    /// A claimed key of one field: a username, a look-alike key and an e-mail address never collide.
    private struct Claim: Hashable {
        var field: StoreError.UniqueField
        var key: IdentityKey
    }

    /// Who is claiming a key: one registration attempt, or an existing user renaming.
    private enum Claimant: Equatable {
        case registration(UUID)
        case user(Int64)
    }

    package init(
        database: any Store,
        hooks: RegistryHooks = .none,
        metrics: AppMetrics = .none,
        clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.database = database
        self.hooks = hooks
        self.metrics = metrics
        self.clock = clock
    }

    /// Which of these keys another user holds, read before any claim so that a form shows every message at once;
    /// a key found held counts as a rejected claim. Advisory: the claim itself decides at the write.
    package nonisolated func lookUp(username: String?, email: IdentityKey?, exceptUserID: Int64?) async throws(StoreError) -> HeldIdentityKeys {
        let held = try await database.heldIdentityKeys(
            username: username.map(IdentityKey.init),
            lookAlike: username.map(LookAlikeKey.of),
            email: email,
            exceptUserID: exceptUserID
        )
        if held.username { metrics.claim(.username, .rejected) }
        if held.lookAlike { metrics.claim(.lookAlike, .rejected) }
        if held.email { metrics.claim(.email, .rejected) }
        return held
    }

    /// Registers a new user holding `username` and `email`.
    /// - Parameter passwordHash: the hash, computed by the caller outside this actor.
    /// - Throws: ``RegistryError/usernameTaken``, ``RegistryError/nameTooSimilar``, ``RegistryError/emailTaken``, or
    ///   ``RegistryError/store(_:)``.
    package func register(username: String, email: String, passwordHash: String) async throws(RegistryError) -> User {
        let usernameKey = IdentityKey(username)
        let lookAlikeKey = LookAlikeKey.of(username)
        let emailKey = IdentityKey(email)
        let claimant = Claimant.registration(UUID())
        let usernameClaim = Claim(field: .username, key: usernameKey)
        let lookAlikeClaim = Claim(field: .lookAlike, key: lookAlikeKey)
        let emailClaim = Claim(field: .email, key: emailKey)
        #if MUTANT_VALIDATE_THEN_COMMIT
        // The simulation's mutant (Tests/scripts/simulation-mutants.sh): the tutorial's fix, validate then commit.
        _ = (claimant, usernameClaim, lookAlikeClaim, emailClaim)
        let held: HeldIdentityKeys
        do { held = try await database.heldIdentityKeys(username: usernameKey, lookAlike: lookAlikeKey, email: emailKey, exceptUserID: nil) } catch { throw .store(error) }
        if held.username { throw .usernameTaken }
        if held.lookAlike { throw .nameTooSimilar }
        if held.email { throw .emailTaken }
        #else
        try reserve(usernameClaim, for: claimant, orThrow: .usernameTaken)
        defer { release(usernameClaim, for: claimant) }
        try reserve(lookAlikeClaim, for: claimant, orThrow: .nameTooSimilar)
        defer { release(lookAlikeClaim, for: claimant) }
        try reserve(emailClaim, for: claimant, orThrow: .emailTaken)
        defer { release(emailClaim, for: claimant) }
        #endif

        await hooks.beforePersist(usernameKey)
        let new = NewUser(
            username: username,
            usernameKey: usernameKey,
            lookAlikeKey: lookAlikeKey,
            email: email,
            emailKey: emailKey,
            passwordHash: passwordHash
        )
        do {
            let user = try await database.insertUser(new, at: clock())
            metrics.claim(.username, .won)
            metrics.claim(.lookAlike, .won)
            metrics.claim(.email, .won)
            return user
        } catch {
            if case .conflict(let field) = error { metrics.claim(field, .conflict) }
            throw await refusal(error, usernameKey: usernameKey, userID: nil)
        }
    }

    /// Changes the username and about-me text of user `userID`. Keeping one's own name, in any spelling, is allowed.
    /// - Parameter currentUsername: the user's name as the caller last read it. A key the new name shares with it is
    ///   not reserved: the user keeps a key they hold, and a registration of that key in flight must not make them
    ///   "taken" (the transaction's check decides, as for any claim); a look-alike key kept is not written either, so
    ///   a name from before the look-alike rule stays as it is. `nil`: not known, reserve as usual.
    /// - Throws: ``RegistryError/usernameTaken`` or ``RegistryError/nameTooSimilar`` when another user holds the name
    ///   or one like it, or ``RegistryError/store(_:)``.
    package func updateProfile(userID: Int64, username: String, aboutMe: String?, currentUsername: String? = nil) async throws(RegistryError) {
        let usernameKey = IdentityKey(username)
        let lookAlikeKey = LookAlikeKey.of(username)
        let claimant = Claimant.user(userID)
        let usernameClaim = Claim(field: .username, key: usernameKey)
        let lookAlikeClaim = Claim(field: .lookAlike, key: lookAlikeKey)
        let keepsOwnKey = currentUsername.map(IdentityKey.init) == usernameKey
        let keepsOwnLookAlike = currentUsername.map(LookAlikeKey.of) == lookAlikeKey
        if !keepsOwnKey {
            try reserve(usernameClaim, for: claimant, orThrow: .usernameTaken)
        }
        defer { if !keepsOwnKey { release(usernameClaim, for: claimant) } }
        if !keepsOwnLookAlike {
            try reserve(lookAlikeClaim, for: claimant, orThrow: .nameTooSimilar)
        }
        defer { if !keepsOwnLookAlike { release(lookAlikeClaim, for: claimant) } }

        await hooks.beforePersist(usernameKey)
        do {
            try await database.updateProfile(
                userID: userID,
                username: username,
                usernameKey: usernameKey,
                lookAlikeKey: keepsOwnLookAlike ? nil : lookAlikeKey,
                aboutMe: aboutMe
            )
            metrics.claim(.username, .won)
        } catch {
            if case .conflict(let field) = error { metrics.claim(field, .conflict) }
            throw await refusal(error, usernameKey: usernameKey, userID: userID)
        }
    }

    /// The refusal a failed write means. Two writes racing on PostgreSQL both pass their checks and meet at the
    /// UNIQUE indexes, where the look-alike key's may speak first although the name itself is taken: "taken" is the
    /// truer answer then, so a look-alike conflict asks whether another user holds the name.
    private func refusal(_ error: StoreError, usernameKey: IdentityKey, userID: Int64?) async -> RegistryError {
        guard case .conflict(.lookAlike) = error,
              let held = try? await database.heldIdentityKeys(username: usernameKey, lookAlike: nil, email: nil, exceptUserID: userID),
              held.username
        else { return RegistryError(error) }
        return .usernameTaken
    }

    /// How many claims are in flight (zero whenever the registry is idle).
    package var claimsInFlight: Int { claims.count }

    /// Takes the reservation, or throws if someone else holds it. Synchronous: nothing can interleave.
    private func reserve(_ claim: Claim, for claimant: Claimant, orThrow error: RegistryError) throws(RegistryError) {
        if let holder = claims[claim], holder != claimant {
            metrics.claim(claim.field, .rejected)
            throw error
        }
        claims[claim] = claimant
    }

    private func release(_ claim: Claim, for claimant: Claimant) {
        if claims[claim] == claimant { claims[claim] = nil }
    }
}

/// Why a claim failed.
package enum RegistryError: Error, Sendable, Equatable {
    case usernameTaken
    /// Another user's name looks like this one (the same ``LookAlikeKey``).
    case nameTooSimilar
    case emailTaken
    /// Storage failed for a reason other than the claim (busy, read-only, a fault).
    case store(StoreError)

    init(_ error: StoreError) {
        switch error {
        case .conflict(.username): self = .usernameTaken
        case .conflict(.lookAlike): self = .nameTooSimilar
        case .conflict(.email): self = .emailTaken
        default: self = .store(error)
        }
    }
}

extension RegistryError: ChainedError {
    /// The storage failure behind ``store(_:)``.
    package var underlyingError: (any Error)? {
        if case .store(let error) = self { return error }
        return nil
    }
}

/// Points where a test suspends a claim, to make a race happen on schedule.
package struct RegistryHooks: Sendable {
    /// Awaited after the reservation is taken and before the database write.
    package var beforePersist: @Sendable (IdentityKey) async -> Void

    package init(beforePersist: @escaping @Sendable (IdentityKey) async -> Void = { _ in }) {
        self.beforePersist = beforePersist
    }

    /// No hooks: production.
    package static var none: RegistryHooks { RegistryHooks() }
}
