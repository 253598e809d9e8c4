import Hummingbird
import HummingbirdAuth

/// Makes a session that the store could not load an error (a 503 page), not a logged-out request.
///
/// hummingbird-auth's `SessionMiddleware` swallows storage errors while loading, so with the database unreachable
/// a logged-in user would look anonymous and be sent to the login page. Placed right after it: when the request
/// carries a session cookie but no session was loaded, the session is loaded again with errors propagating. An
/// unknown or expired session loads as nil again and the request goes on anonymous; a ``StoreError`` stops it;
/// a session that loads now (the store is back) is taken on, under a new session id.
struct SessionLoadCheckMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let sessionStorage: SessionStorage<SessionState>
    let cookieName: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if context.sessions.session == nil, request.cookies[cookieName] != nil {
            do {
                if let (session, ttl) = try await sessionStorage.loadWithTTL(request: request) {
                    context.sessions.createSession(session, expiresIn: ttl)
                }
            } catch let error as StoreError {
                throw error
            } catch {
                // Not the store's: the session middleware's own handling (an unreadable session) stands.
            }
        }
        return try await next(request, context)
    }
}
