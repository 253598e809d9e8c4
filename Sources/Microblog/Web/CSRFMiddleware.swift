import Crypto
import Foundation
import Hummingbird
import Logging
import HummingbirdAuth

/// Guards every form POST: reads the body (up to ``FormData/maximumBodySize``, else 413; a body that stops
/// arriving is a 408), parses it (a malformed body is a 400), and compares its `csrf_token` with the session's in
/// constant time. A missing or wrong token is the "form has expired" page and nothing else happens. The parsed
/// form is handed on in the context.
struct CSRFMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .post else { return try await next(request, context) }
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
        guard let expected = context.sessions.session?.csrfToken,
              let sent = form.raw("csrf_token"),
              Self.constantTimeEqual(Array(expected.utf8), sent)
        else {
            context.logger.info("CSRF token missing or invalid")
            throw PageError.formExpired
        }
        var context = context
        context.form = form
        return try await next(request, context)
    }

    static func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for index in lhs.indices { difference |= lhs[index] ^ rhs[index] }
        return difference == 0
    }
}
