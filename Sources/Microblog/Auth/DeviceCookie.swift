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

    private let keys: SigningKeys
    private let secureCookies: Bool

    init(secretKey: String, fallbacks: [String] = [], secureCookies: Bool) {
        keys = SigningKeys(secretKey: secretKey, fallbacks: fallbacks, for: "microblog device cookie")
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
        let sent = Array(parts[2].utf8)
        guard keys.all.contains(where: { ConstantTime.equal(Array(mac(account: account, nonce: nonce, expiry: expiry, key: $0).utf8), sent) })
        else { return nil }
        return nonce
    }

    /// A new device cookie for a browser that has just logged in as `account`.
    func cookie(for account: IdentityKey, now: Date = Date()) -> Cookie {
        let nonce = RandomToken.make(byteCount: 16)
        let expiry = Int64(now.timeIntervalSince1970) + Self.lifetime.components.seconds
        return Cookie(
            name: Self.cookieName,
            value: "\(expiry).\(nonce).\(mac(account: account, nonce: nonce, expiry: expiry, key: keys.current))",
            maxAge: Int(Self.lifetime.components.seconds),
            path: "/login",
            secure: secureCookies,
            httpOnly: true,
            sameSite: .strict
        )
    }

    private func mac(account: IdentityKey, nonce: String, expiry: Int64, key: SymmetricKey) -> String {
        let message = Data("\(account.rawValue)\n\(nonce)\n\(expiry)".utf8)
        return Data(HMAC<SHA256>.authenticationCode(for: message, using: key)).base64URLEncodedString()
    }
}
