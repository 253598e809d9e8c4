import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Guards every request that changes state, refusing early what it can:
/// - a request that says it comes from another site (`Origin`, or without it `Referer`, naming another origin, or
///   `Sec-Fetch-Site: cross-site`) is the 403 page whatever token it carries; one without these headers is judged by
///   its token alone (older clients, scripts);
/// - a POST that declares a body over ``FormData/maximumBodySize`` is the 413 page before a byte of it is read;
/// - the body is read (a larger one is a 413; one that stops arriving a 408) and parsed (malformed: a 400), and its
///   `csrf_token` must be the session's (compared in constant time) or, on a signed-out form, a valid
///   ``SignedOutCSRF`` token for that form and this browser. Otherwise it is the "form has expired" page and
///   nothing else happens. The parsed form is handed on in the context.
struct CSRFMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let signedOut: SignedOutCSRF
    /// The forms a signed-out visitor posts, by path: the purpose their tokens are issued for.
    let signedOutForms: Set<String>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        switch request.method {
        case .get, .head, .options, .trace: return try await next(request, context)
        default: break
        }
        if let reason = SameOrigin.crossSiteReason(request, own: context.publicOrigin) {
            context.logger.debug("Cross-site request refused", metadata: ["reason": .string(reason)])
            throw PageError.forbidden
        }
        guard request.method == .post else { return try await next(request, context) }
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > FormData.maximumBodySize {
            throw PageError.payloadTooLarge
        }
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: FormData.maximumBodySize)
        } catch let error as any HTTPResponseError {
            throw error  // too large: 413
        } catch {
            // The body stopped arriving: the connection hit its body deadline or the client went away.
            throw PageError.requestTimeout
        }
        let mediaType = request.headers[.contentType].flatMap { MediaType(from: $0) }
        guard mediaType?.isType(.applicationUrlEncoded) == true || body.readableBytes == 0 else {
            throw PageError.badRequest
        }
        let form: FormData
        do {
            form = try FormData(body: body.readableBytesView)
        } catch {
            throw PageError.badRequest
        }
        guard let sent = form.raw("csrf_token"), isValid(sent, request: request, context: context) else {
            context.logger.debug("CSRF token missing or invalid")
            throw PageError.formExpired
        }
        var context = context
        context.form = form
        return try await next(request, context)
    }

    private func isValid(_ sent: [UInt8], request: Request, context: Context) -> Bool {
        if let expected = context.session.current?.csrfToken, ConstantTime.equal(Array(expected.utf8), sent) {
            return true
        }
        let path = request.uri.path
        return signedOutForms.contains(path) && signedOut.isValid(sent, for: path, request: request)
    }

}

/// Whether a request says it was sent by another site, as browsers tell it.
enum SameOrigin {
    /// Why the request is cross-site, or nil when it is same-origin or says nothing (no `Origin`, `Referer` or
    /// `Sec-Fetch-Site`). Same-origin means the same scheme, host and port as `own`, the origin the browser addressed
    /// (``PublicOrigin``): an `http://` page does not post to an `https://` site.
    static func crossSiteReason(_ request: Request, own: PublicOrigin?) -> String? {
        if request.headers[.secFetchSite]?.lowercased() == "cross-site" { return "Sec-Fetch-Site: cross-site" }
        if let origin = request.headers[.origin] {
            guard let own, let theirs = PublicOrigin(url: origin), theirs == own else { return "Origin" }
            return nil
        }
        if let referer = request.headers[.referer] {
            guard let own, let theirs = PublicOrigin(url: referer), theirs == own else { return "Referer" }
        }
        return nil
    }
}

extension HTTPField.Name {
    /// Fetch Metadata: which site a browser says a request comes from (`same-origin`, `same-site`, `cross-site`, `none`).
    // invariant: a literal that is a valid field name; HTTPField.Name refuses only invalid tokens.
    static let secFetchSite = HTTPField.Name("Sec-Fetch-Site")!
}
