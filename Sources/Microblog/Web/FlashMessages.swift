import Foundation
import Hummingbird
import NIOConcurrencyHelpers

/// Messages shown once on the next page ("Your changes have been saved."), carried in a signed, short-lived
/// cookie instead of a stored row, so that no visitor, signed in or not, is written for because of them.
///
/// The cookie is `<expiry>.<messages>.<HMAC>` (an ``ExpiringSignature``, the messages in base64url), keyed with a key
/// derived from `SECRET_KEY`: a client can drop it, but cannot make the site show text of its own.
struct FlashCookie: Sendable {
    static let cookieName = "flash"
    /// Long enough to follow a redirect, short enough not to greet a visitor days later.
    static let lifetime: Duration = .seconds(300)

    private let signature: ExpiringSignature
    private let secureCookies: Bool

    init(secretKey: String, fallbacks: [String] = [], secureCookies: Bool) {
        signature = ExpiringSignature(
            secretKey: secretKey, fallbacks: fallbacks, for: "microblog flash", lifetime: Self.lifetime, maximumLength: 2048
        )
        self.secureCookies = secureCookies
    }

    /// The messages a flash cookie's value carries; empty when it is expired or not ours. The messages are accepted
    /// only in base64url without padding, the spelling this server makes.
    func messages(inCookieValue value: Substring, now: Date = Date()) -> [String] {
        guard let payload = signature.payload(of: value, boundTo: "", now: now), let text = Data(base64URL: payload.utf8),
              text.base64URLEncodedString().utf8.elementsEqual(payload.utf8)
        else { return [] }
        return String(decoding: text, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    /// The cookie carrying `messages` (each one line).
    func cookie(for messages: [String], now: Date = Date()) -> Cookie {
        let payload = Data(messages.joined(separator: "\n").utf8).base64URLEncodedString()
        return cookie(value: signature.sign(payload, boundTo: "", now: now), maxAge: Int(Self.lifetime.components.seconds))
    }

    /// A cookie that deletes the flash cookie in the browser.
    var expiredCookie: Cookie { cookie(value: "", maxAge: 0) }

    private func cookie(value: String, maxAge: Int) -> Cookie {
        Cookie(name: Self.cookieName, value: value, maxAge: maxAge, path: "/", secure: secureCookies, httpOnly: true, sameSite: .lax)
    }
}

extension AppRequestContext {
    /// Shows `message` once on the next page.
    func flash(_ message: String) {
        flashOutbox?.append(message)
    }
}

/// The messages a handler flashes for the next page; read by ``FlashMiddleware`` once the response is made.
final class FlashOutbox: Sendable {
    private let box = NIOLockedValueBox<[String]>([])

    func append(_ message: String) {
        box.withLockedValue { $0.append(message) }
    }

    var messages: [String] { box.withLockedValue { $0 } }
}

/// Hands the flashed messages a request brings to the page (``AppRequestContext/flashes``) and carries the ones
/// its handler flashes to the next: a page in the layout shows the messages, so its response deletes the cookie;
/// a redirect keeps them for the page it leads to.
struct FlashMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let cookies: FlashCookie

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let cookieValue = request.cookieValue(named: FlashCookie.cookieName) ?? ""
        context.flashes = cookieValue.isEmpty ? [] : cookies.messages(inCookieValue: cookieValue)
        let outbox = FlashOutbox()
        context.flashOutbox = outbox
        let incoming = context.flashes
        var response = try await next(request, context)
        let shown = Self.showsLayout(response)
        let pending = (shown ? [] : incoming) + outbox.messages
        if !pending.isEmpty, pending != incoming {
            response.setCookie(cookies.cookie(for: pending))
        } else if pending.isEmpty, !cookieValue.isEmpty {
            response.setCookie(cookies.expiredCookie)
        }
        return response
    }

    /// An HTML page (not a redirect): every such page of the site is rendered in the layout, which lists the flashes.
    private static func showsLayout(_ response: Response) -> Bool {
        !(300..<400).contains(response.status.code) && response.headers[.contentType]?.hasPrefix("text/html") == true
    }
}
