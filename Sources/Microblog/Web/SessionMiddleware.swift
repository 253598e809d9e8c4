import Foundation
import Hummingbird
import Logging
import Synchronization

/// Server-side sessions in the store's `session` table: loads the session a request's cookie names and the user it
/// names in one storage call before the handlers run, and after them stores the session they started or deletes the
/// one they ended, with its cookie.
///
/// Sessions (and the CSRF tokens in them) survive restarts, are shared by every instance on one database, and a
/// deleted session (logout) stops working everywhere at once. A store failure while loading is the request's error (a
/// 503 page), never a signed-out request. A stored session whose value this server did not write, or whose user is
/// gone, is no session: it is deleted with its cookie (the former with an ERROR record: the row was changed behind
/// the server's back). A started session always gets a new id, and the one the request came with is deleted.
struct SessionMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    /// The session cookie's name.
    static let cookieName = "session"
    /// Longer cookie values are not ids this server issued; they are no session, and not looked up.
    static let maximumIDLength = 128

    let database: any Store
    /// How long a new session lasts.
    let duration: Duration
    /// Sessions one user keeps at most; the oldest goes first.
    let sessionsPerUser: Int
    let secureCookies: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let id = request.cookieValue(named: Self.cookieName).flatMap { $0.isEmpty || $0.utf8.count > Self.maximumIDLength ? nil : String($0) }
        var discard = false
        // The row the cookie names, if any: a session started below replaces it, whatever it held.
        let stored: (value: Data, expiresAt: Date?, user: User?)? = if let id { try await database.session(key: id) } else { nil }
        if let stored {
            if let expiresAt = stored.expiresAt, expiresAt <= Date.now {
                // Expired: no session; the row goes with the next sweep.
            } else if let state = try? JSONDecoder().decode(SessionState.self, from: stored.value) {
                if let user = stored.user, user.id == state.userID {
                    context.session.load(state)
                    context.currentUser = user
                } else {
                    discard = true
                }
            } else {
                context.logger.error(
                    "Stored session cannot be read on \(request.method) \(request.uri.path); treated as no session",
                    metadata: ["method": .string(request.method.rawValue), "path": .string(request.uri.path)]
                )
                discard = true
            }
        }
        var response = try await next(request, context)
        switch context.session.change {
        case .started(let state):
            let newID = RandomToken.make()
            let now = Date.now
            let value = try JSONEncoder().encode(state)
            try await database.saveSession(
                key: newID, value: value, userID: state.userID, expiresAt: now.addingTimeInterval(duration.seconds),
                now: now, sessionsPerUser: sessionsPerUser
            )
            if let id, stored != nil {
                try await database.deleteSession(key: id)
            }
            response.setCookie(cookie(value: newID, maxAge: Int(duration.components.seconds)))
        case .ended:
            if let id { try await database.deleteSession(key: id) }
            response.setCookie(cookie(value: "", maxAge: 0))
        case .unchanged where discard:
            if let id { try await database.deleteSession(key: id) }
            response.setCookie(cookie(value: "", maxAge: 0))
        case .unchanged:
            break
        }
        return response
    }

    private func cookie(value: String, maxAge: Int) -> Cookie {
        Cookie(name: Self.cookieName, value: value, maxAge: maxAge, path: "/", secure: secureCookies, httpOnly: true, sameSite: .lax)
    }
}

/// This request's session, shared by ``SessionMiddleware`` and the handlers: the one loaded, and whether a handler
/// started a new one or ended it. Only ``SessionMiddleware`` loads one.
final class RequestSession: Sendable {
    /// What the handlers did to the session.
    enum Change: Sendable, Equatable {
        case unchanged
        /// A new session (a login, a remembered browser): stored under a new id.
        case started(SessionState)
        /// Signed out: the session is deleted.
        case ended
    }

    private let state = Mutex<(current: SessionState?, loaded: Bool, change: Change)>((nil, false, .unchanged))

    /// The session in force: the loaded one, or the one a handler started; nil once ended.
    var current: SessionState? { state.withLock { $0.current } }

    var change: Change { state.withLock { $0.change } }

    fileprivate func load(_ session: SessionState) {
        state.withLock { $0 = (session, true, .unchanged) }
    }

    /// Starts a new session for this browser (its id is new; the old one, if any, is deleted).
    func start(_ session: SessionState) {
        state.withLock {
            $0.current = session
            $0.change = .started(session)
        }
    }

    /// Ends this browser's session.
    func end() {
        state.withLock {
            $0.current = nil
            $0.change = $0.loaded ? .ended : .unchanged
        }
    }
}
