import Foundation
import Hummingbird

/// CSRF tokens for the forms a signed-out visitor posts (login, registration), kept nowhere on the server.
///
/// A signed double-submit token: the browser holds a random value in its own `HttpOnly; SameSite=Lax` cookie,
/// and the form carries `<expiry>..<HMAC>` (an ``ExpiringSignature`` with no payload) bound to that value and the
/// form's purpose (its path), keyed with a key derived from `SECRET_KEY`. Showing a signed-out form therefore writes nothing, and a token is worth
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

    private let signature: ExpiringSignature
    private let secureCookies: Bool

    init(secretKey: String, fallbacks: [String] = [], secureCookies: Bool) {
        signature = ExpiringSignature(
            secretKey: secretKey, fallbacks: fallbacks, for: "microblog signed-out CSRF", lifetime: Self.lifetime, maximumLength: 128
        )
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
        guard let nonce = nonce(in: request), let sent = String(validating: sent, as: UTF8.self) else { return false }
        return signature.payload(of: sent[...], boundTo: Self.binding(purpose, nonce), now: now) == ""
    }

    /// A token for `purpose` and the browser's `nonce`, valid for ``lifetime`` from `now`.
    func token(for purpose: String, nonce: String, now: Date) -> String {
        signature.sign("", boundTo: Self.binding(purpose, nonce), now: now)
    }

    private static func binding(_ purpose: String, _ nonce: String) -> String {
        "\(purpose)\n\(nonce)"
    }

    /// The browser's value, if it has one of the shape this server makes (43 base64url characters).
    private func nonce(in request: Request) -> String? {
        guard let value = request.cookies[nonceCookieName]?.value, value.utf8.count == 43,
              value.utf8.allSatisfy(Data.isBase64URLByte)
        else { return nil }
        return value
    }
}
