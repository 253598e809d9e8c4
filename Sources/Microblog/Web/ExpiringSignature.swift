import Crypto
import Foundation

/// Values of the form `<expiry>.<payload>.<MAC>` that only this server can make: the MAC (HMAC-SHA256, base64url)
/// covers the expiry, the payload and what the value is bound to without carrying it (an account; a form and the
/// browser's nonce). A value verifies only as this server spells it: a canonical expiry in the future and no further
/// than the lifetime, and the whole MAC equal, in constant time, to the one the current key or a fallback makes.
/// The flash cookie, the device cookie and the signed-out forms' tokens are such values, each under keys of its own.
struct ExpiringSignature: Sendable {
    private let keys: SigningKeys
    private let lifetime: Duration
    /// Longer values are refused unread.
    private let maximumLength: Int

    /// Signs under the keys of `use` (see ``SigningKeys``).
    init(secretKey: String, fallbacks: [String], for use: String, lifetime: Duration, maximumLength: Int) {
        keys = SigningKeys(secretKey: secretKey, fallbacks: fallbacks, for: use)
        self.lifetime = lifetime
        self.maximumLength = maximumLength
    }

    /// `payload` (no `.` in it) signed with the current key, bound to `binding`, valid for the lifetime from `now`.
    func sign(_ payload: String, boundTo binding: String, now: Date) -> String {
        let expiry = Int64(now.timeIntervalSince1970) + lifetime.components.seconds
        return "\(expiry).\(payload).\(mac(payload[...], binding, expiry, keys.current))"
    }

    /// The payload of `value` when this server signed it for `binding` and it has not expired; nil otherwise.
    func payload(of value: Substring, boundTo binding: String, now: Date) -> Substring? {
        guard value.utf8.count <= maximumLength else { return nil }
        let parts = value.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false)
        let nowSeconds = Int64(now.timeIntervalSince1970)
        guard parts.count == 3, let expiry = Int64(parts[0]), String(expiry) == parts[0],
              expiry > nowSeconds, expiry <= nowSeconds + lifetime.components.seconds
        else { return nil }
        let sent = Array(parts[2].utf8)
        guard keys.all.contains(where: { ConstantTime.equal(Array(mac(parts[1], binding, expiry, $0).utf8), sent) }) else { return nil }
        return parts[1]
    }

    private func mac(_ payload: Substring, _ binding: String, _ expiry: Int64, _ key: SymmetricKey) -> String {
        let message = Data("\(binding)\n\(expiry)\n\(payload)".utf8)
        return Data(HMAC<SHA256>.authenticationCode(for: message, using: key)).base64URLEncodedString()
    }
}
