import Crypto
import Foundation
import Hummingbird
import Logging

/// "Remember Me": a revocable token in its own cookie, `<selector>.<validator>`. The database keeps the selector
/// and an HMAC (keyed with SECRET_KEY) of the validator, so neither a stolen database nor a guessed selector
/// logs anyone in. Logout deletes the token.
struct RememberMe: Sendable {
    static let cookieName = "remember_token"
    let database: any Store
    let key: SymmetricKey
    let duration: Duration
    let secureCookies: Bool

    init(database: any Store, secretKey: String, duration: Duration, secureCookies: Bool) {
        self.database = database
        self.key = SymmetricKey(data: Data(secretKey.utf8))
        self.duration = duration
        self.secureCookies = secureCookies
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

    /// The user a remember cookie stands for, or nil when it is absent, malformed, unknown, expired or forged.
    func userID(for cookieValue: String, now: Date = Date()) async throws(StoreError) -> Int64? {
        let parts = cookieValue.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].utf8.count <= 64, parts[1].utf8.count <= 128 else { return nil }
        guard let stored = try await database.rememberToken(selector: String(parts[0]), now: now) else { return nil }
        // One MAC, compared in constant time by swift-crypto.
        guard HMAC<SHA256>.isValidAuthenticationCode(stored.validatorHash, authenticating: Data(parts[1].utf8), using: key)
        else { return nil }
        return stored.userID
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

    private func mac(_ validator: String) -> Data {
        Data(HMAC<SHA256>.authenticationCode(for: Data(validator.utf8), using: key))
    }
}
