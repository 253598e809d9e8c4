import Crypto
import Foundation
import Hummingbird
import Logging

/// "Remember Me": a revocable token in its own cookie, `<selector>.<validator>`. The database keeps the selector
/// and an HMAC of the validator (keyed with a key derived from `SECRET_KEY`; one of `SECRET_KEY_FALLBACKS`, or the
/// raw secret tokens stored before keys were derived, still verifies), so neither a stolen database nor a guessed
/// selector logs anyone in. Logout deletes the token.
///
/// A token is rotated each time it signs a browser in (a new validator, the old one kept for a short grace so that
/// the same browser's requests already on their way still count). An old validator presented after the grace means
/// the token was copied: every session and token of the user is revoked, so a stolen cookie cannot keep minting
/// sessions behind the owner's back.
struct RememberMe: Sendable {
    static let cookieName = "remember_token"
    let database: any Store
    /// What new validators are hashed with.
    let key: SymmetricKey
    /// What stored hashes are verified with: ``key``, the fallbacks' derived keys, then the raw secrets that hashed
    /// the tokens stored before keys were derived. A token that signs a browser in is rotated, so re-hashed with ``key``.
    let verifyingKeys: [SymmetricKey]
    let duration: Duration
    let secureCookies: Bool
    /// How long a replaced validator still signs in (the same browser's concurrent requests).
    let rotationGrace: Duration

    init(
        database: any Store,
        secretKey: String,
        fallbacks: [String] = [],
        duration: Duration,
        secureCookies: Bool,
        rotationGrace: Duration = .seconds(60)
    ) {
        self.database = database
        let keys = SigningKeys(secretKey: secretKey, fallbacks: fallbacks, for: "microblog remember-me")
        self.key = keys.current
        self.verifyingKeys = keys.all + ([secretKey] + fallbacks).map { SymmetricKey(data: Data($0.utf8)) }
        self.duration = duration
        self.secureCookies = secureCookies
        self.rotationGrace = rotationGrace
    }

    /// What a remember cookie did.
    enum Outcome {
        /// It signs `userID` in; `rotated` is the cookie with the token's new validator (nil when another request has
        /// just rotated it).
        case signedIn(userID: Int64, rotated: Cookie?)
        /// Absent, malformed, unknown, expired or forged: it signs nobody in.
        case invalid
        /// A validator replaced longer ago than the grace: the token was copied. The user's sessions and tokens are
        /// revoked.
        case reused(userID: Int64)
    }

    /// Issues a token for `userID` and returns the cookie that carries it.
    func issue(for userID: Int64, now: Date = Date()) async throws(StoreError) -> Cookie {
        let selector = RandomToken.make(byteCount: 12)
        let validator = RandomToken.make()
        try await database.insertRememberToken(
            selector: selector,
            validatorHash: mac(validator),
            userID: userID,
            expiresAt: now.addingTimeInterval(duration.seconds)
        )
        return cookie(value: "\(selector).\(validator)", maxAge: Int(duration.components.seconds))
    }

    /// Uses a remember cookie: signs its user in (rotating the token), or says why it does not.
    func use(_ cookieValue: String, now: Date = Date()) async throws(StoreError) -> Outcome {
        let parts = cookieValue.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].utf8.count <= 64, parts[1].utf8.count <= 128 else { return .invalid }
        let selector = String(parts[0])
        guard let stored = try await database.rememberToken(selector: selector, now: now) else { return .invalid }
        // MACs compared in constant time by swift-crypto.
        let validator = Data(parts[1].utf8)
        if verifies(stored.validatorHash, validator) {
            let next = RandomToken.make()
            let rotated = try await database.rotateRememberToken(selector: selector, from: stored.validatorHash, to: mac(next), at: now)
            let cookie = rotated ? cookie(value: "\(selector).\(next)", maxAge: Int(duration.components.seconds)) : nil
            return .signedIn(userID: stored.userID, rotated: cookie)
        }
        guard let previous = stored.previousHash, verifies(previous, validator) else { return .invalid }
        if let rotatedAt = stored.rotatedAt, now.timeIntervalSince(rotatedAt) <= rotationGrace.seconds {
            return .signedIn(userID: stored.userID, rotated: nil)
        }
        try await database.revokeUser(stored.userID)
        return .reused(userID: stored.userID)
    }

    /// Revokes the token a cookie carries.
    func revoke(cookieValue: String) async throws(StoreError) {
        guard let selector = cookieValue.split(separator: ".").first, selector.utf8.count <= 64 else { return }
        try await database.deleteRememberToken(selector: String(selector))
    }

    /// A cookie that deletes the remember cookie in the browser.
    var expiredCookie: Cookie { cookie(value: "", maxAge: 0) }

    private func cookie(value: String, maxAge: Int) -> Cookie {
        Cookie(name: Self.cookieName, value: value, maxAge: maxAge, path: "/", secure: secureCookies, httpOnly: true, sameSite: .lax)
    }

    /// Whether `hash` is the HMAC of `validator` under one of ``verifyingKeys`` (each compared in constant time by
    /// swift-crypto).
    private func verifies(_ hash: Data, _ validator: Data) -> Bool {
        verifyingKeys.contains { HMAC<SHA256>.isValidAuthenticationCode(hash, authenticating: validator, using: $0) }
    }

    private func mac(_ validator: String) -> Data {
        Data(HMAC<SHA256>.authenticationCode(for: Data(validator.utf8), using: key))
    }
}
