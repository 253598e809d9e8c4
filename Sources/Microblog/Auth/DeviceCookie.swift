import Crypto
import Foundation
import Hummingbird

/// OWASP's device cookie: a browser that has logged in successfully as a user carries `<expiry>.<nonce>.<MAC>`, the
/// MAC (HMAC-SHA256 with a key derived from `SECRET_KEY`) binding the nonce and the expiry to that user's
/// ``IdentityKey``. A later login attempt for the same user from that browser is limited per device
/// (``LoginThrottle/Subject/device(_:)``), not by the account's lockout, so an attacker's failures elsewhere never
/// lock the owner out of their own browser. The cookie proves only that this browser logged in as the user before:
/// it never signs anybody in.
struct DeviceCookie: Sendable {
    static let cookieName = "device"
    static let lifetime: Duration = .seconds(365 * 86_400)

    private let key: SymmetricKey
    private let secureCookies: Bool

    init(secretKey: String, secureCookies: Bool) {
        key = .derived(fromSecretKey: secretKey, for: "microblog device cookie")
        self.secureCookies = secureCookies
    }

    /// The nonce of a device cookie issued to a browser that logged in as `account`, when `value` is one, unexpired.
    func nonce(in value: Substring, for account: IdentityKey, now: Date = Date()) -> String? {
        guard value.utf8.count <= 256 else { return nil }
        let parts = value.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let expiry = Int64(parts[0]), String(expiry) == parts[0],
              expiry > Int64(now.timeIntervalSince1970),
              parts[1].utf8.count == 22, parts[1].utf8.allSatisfy(Data.isBase64URLByte)
        else { return nil }
        let nonce = String(parts[1])
        let expected = mac(account: account, nonce: nonce, expiry: expiry)
        guard ConstantTime.equal(Array(expected.utf8), Array(parts[2].utf8)) else { return nil }
        return nonce
    }

    /// A new device cookie for a browser that has just logged in as `account`.
    func cookie(for account: IdentityKey, now: Date = Date()) -> Cookie {
        let nonce = RandomToken.make(byteCount: 16)
        let expiry = Int64(now.timeIntervalSince1970) + Self.lifetime.components.seconds
        return Cookie(
            name: Self.cookieName,
            value: "\(expiry).\(nonce).\(mac(account: account, nonce: nonce, expiry: expiry))",
            maxAge: Int(Self.lifetime.components.seconds),
            path: "/login",
            secure: secureCookies,
            httpOnly: true,
            sameSite: .strict
        )
    }

    private func mac(account: IdentityKey, nonce: String, expiry: Int64) -> String {
        let message = Data("\(account.rawValue)\n\(nonce)\n\(expiry)".utf8)
        return Data(HMAC<SHA256>.authenticationCode(for: message, using: key)).base64URLEncodedString()
    }
}
