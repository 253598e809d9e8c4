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

    private let signature: ExpiringSignature
    private let secureCookies: Bool

    init(secretKey: String, fallbacks: [String] = [], secureCookies: Bool) {
        signature = ExpiringSignature(
            secretKey: secretKey, fallbacks: fallbacks, for: "microblog device cookie", lifetime: Self.lifetime, maximumLength: 256
        )
        self.secureCookies = secureCookies
    }

    /// The nonce of a device cookie issued to a browser that logged in as `account`, when `value` is one, unexpired.
    func nonce(in value: Substring, for account: IdentityKey, now: Date = Date()) -> String? {
        guard let nonce = signature.payload(of: value, boundTo: account.rawValue, now: now),
              nonce.utf8.count == 22, nonce.utf8.allSatisfy(Data.isBase64URLByte)
        else { return nil }
        return String(nonce)
    }

    /// A new device cookie for a browser that has just logged in as `account`.
    func cookie(for account: IdentityKey, now: Date = Date()) -> Cookie {
        Cookie(
            name: Self.cookieName,
            value: signature.sign(RandomToken.make(byteCount: 16), boundTo: account.rawValue, now: now),
            maxAge: Int(Self.lifetime.components.seconds),
            path: "/login",
            secure: secureCookies,
            httpOnly: true,
            sameSite: .strict
        )
    }
}
