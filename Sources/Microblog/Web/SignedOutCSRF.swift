import Crypto
import Foundation
import Hummingbird

/// CSRF tokens for the forms a signed-out visitor posts (login, registration), kept nowhere on the server.
///
/// A signed double-submit token: the browser holds a random value in its own `HttpOnly; SameSite=Lax` cookie,
/// and the form carries `<expiry>.<HMAC>` over that value, the form's purpose (its path) and the expiry, keyed
/// with a key derived from `SECRET_KEY`. Showing a signed-out form therefore writes nothing, and a token is worth
/// nothing in another browser, for another form, after its expiry or under another `SECRET_KEY`.
struct SignedOutCSRF: Sendable {
    static let cookieName = "csrf_nonce"
    /// The name over HTTPS: the `__Host-` prefix makes a browser refuse the cookie unless it is `Secure`, for the
    /// whole site (`Path=/`) and set by this host alone (no `Domain`), so a sibling subdomain cannot plant one.
    static let secureCookieName = "__Host-csrf_nonce"

    /// The cookie's name here: ``secureCookieName`` when cookies are `Secure`.
    var nonceCookieName: String { secureCookies ? Self.secureCookieName : Self.cookieName }
    /// How long a signed-out form stays valid once shown (Flask-WTF's default).
    static let lifetime: Duration = .seconds(3600)

    private let keys: SigningKeys
    private let secureCookies: Bool

    init(secretKey: String, fallbacks: [String] = [], secureCookies: Bool) {
        keys = SigningKeys(secretKey: secretKey, fallbacks: fallbacks, for: "microblog signed-out CSRF")
        self.secureCookies = secureCookies
    }

    /// A token for the form at `purpose`, bound to the browser's value; and the cookie to set when the browser
    /// has none yet (or sent one that is not of our making).
    func issue(for purpose: String, request: Request, now: Date = Date()) -> (token: String, cookie: Cookie?) {
        if let nonce = nonce(in: request) {
            return (token(for: purpose, nonce: nonce, now: now), nil)
        }
        let nonce = RandomToken.make()
        let cookie = Cookie(name: nonceCookieName, value: nonce, path: "/", secure: secureCookies, httpOnly: true, sameSite: .lax)
        return (token(for: purpose, nonce: nonce, now: now), cookie)
    }

    /// Whether `sent` is a token this server issued for `purpose` to the browser that sent `request`, and not expired.
    func isValid(_ sent: [UInt8], for purpose: String, request: Request, now: Date = Date()) -> Bool {
        guard let nonce = nonce(in: request), sent.count <= 128,
              let dot = sent.firstIndex(of: UInt8(ascii: ".")),
              let expiry = Int64(String(decoding: sent[..<dot], as: UTF8.self)),
              expiry > Int64(now.timeIntervalSince1970),
              expiry <= Int64(now.timeIntervalSince1970) + Self.lifetime.components.seconds
        else { return false }
        // The token this server would have made, compared whole and in constant time: another spelling of the same
        // MAC (base64's spare bits in the last character) is not accepted either.
        return keys.all.contains { key in
            ConstantTime.equal(Array(token(for: purpose, nonce: nonce, expiry: expiry, key: key).utf8), sent)
        }
    }

    /// A token for `purpose` and the browser's `nonce`, valid for ``lifetime`` from `now`.
    func token(for purpose: String, nonce: String, now: Date) -> String {
        token(for: purpose, nonce: nonce, expiry: Int64(now.timeIntervalSince1970) + Self.lifetime.components.seconds, key: keys.current)
    }

    private func token(for purpose: String, nonce: String, expiry: Int64, key: SymmetricKey) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Self.message(purpose, expiry, nonce), using: key)
        return "\(expiry).\(Data(mac).base64URLEncodedString())"
    }

    private static func message(_ purpose: String, _ expiry: Int64, _ nonce: String) -> Data {
        Data("\(purpose)\n\(expiry)\n\(nonce)".utf8)
    }

    /// The browser's value, if it has one of the shape this server makes (43 base64url characters).
    private func nonce(in request: Request) -> String? {
        guard let value = request.cookies[nonceCookieName]?.value, value.utf8.count == 43,
              value.utf8.allSatisfy(Data.isBase64URLByte)
        else { return nil }
        return value
    }
}
