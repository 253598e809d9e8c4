import CoreMetrics
import Foundation
import Hummingbird
import Logging

/// Signs in a browser without a session that has a remember-me cookie (a new session, the token rotated), and
/// records `last_seen` at most once a minute per user so that reading pages does not make every GET a write.
struct CurrentUserMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let database: any Store
    let rememberMe: RememberMe
    let pages: ErrorPages
    let metrics: AppMetrics
    let lastSeenInterval: TimeInterval = 60

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        var expireRememberCookie = false
        var rotatedRememberCookie: Cookie?
        if context.currentUser == nil, let token = request.cookieValue(named: RememberMe.cookieName).map(String.init), !token.isEmpty {
            let outcome = try await rememberMe.use(token)
            if case .signedIn(let userID, let rotated) = outcome, let user = try await database.user(id: userID) {
                context.currentUser = user
                context.session.start(SessionState(userID: userID))
                metrics.sessionsCreated.increment()
                rotatedRememberCookie = rotated
            } else if case .reused(let userID) = outcome {
                context.logger.warning(
                    "A replaced remember-me token was used again: every session and remember-me token of the user is revoked",
                    metadata: ["user_id": "\(userID)"]
                )
                expireRememberCookie = true
            } else {
                // A client's mistake: counted in the error pages' summary line, so a scan cannot flush the log.
                context.logger.debug("Ignoring an invalid remember-me cookie")
                await pages.count(.invalidRememberCookie)
                metrics.clientMistakes.increment()
                expireRememberCookie = true
            }
        }
        if let user = context.currentUser, let id = user.id {
            let now = Date()
            if now.timeIntervalSince(user.lastSeen) >= lastSeenInterval {
                // Best effort: a page that only reads must not fail because this write could not happen.
                do {
                    try await database.touchLastSeen(userID: id, at: now)
                    context.currentUser?.lastSeen = now
                } catch {
                    context.logger.warning("Could not record last_seen", metadata: ["error": "\(error)"])
                }
            }
        }
        var response = try await next(request, context)
        if context.currentUser != nil, response.headers[.cacheControl] == nil {
            // A signed-in page is that user's: no shared cache keeps it, no browser shows it from its cache later.
            response.headers[.cacheControl] = "no-store"
        }
        if expireRememberCookie {
            response.setCookie(rememberMe.expiredCookie)
        } else if let rotatedRememberCookie {
            response.setCookie(rotatedRememberCookie)
        }
        return response
    }
}
