import HTTPTypes
import Hummingbird

/// Adds the headers every response of the site carries: a Content-Security-Policy that allows images from
/// Gravatar and nothing inline, `nosniff`, a Referrer-Policy and no framing.
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    static var contentSecurityPolicy: String {
        "default-src 'self'; img-src 'self' https://www.gravatar.com; style-src 'self'; script-src 'none'; "
            + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.contentSecurityPolicy] = Self.contentSecurityPolicy
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[.referrerPolicy] = "same-origin"
        response.headers[.xFrameOptions] = "DENY"
        return response
    }
}

extension HTTPField.Name {
    // invariant: literals that are valid field names; HTTPField.Name refuses only invalid tokens.
    static var xContentTypeOptions: Self { .init("X-Content-Type-Options")! }
    static var referrerPolicy: Self { .init("Referrer-Policy")! }  // invariant: a valid literal name
    static var xFrameOptions: Self { .init("X-Frame-Options")! }  // invariant: a valid literal name
}
