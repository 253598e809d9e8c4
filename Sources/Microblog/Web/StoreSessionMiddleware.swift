import Hummingbird
import Logging
import HummingbirdAuth
import NIOConcurrencyHelpers

/// hummingbird-auth's `SessionMiddleware`, except that a session the store could not load is an error (a 503
/// page), not a logged-out request, and that the session's user, read in the same storage call as the session, is
/// handed on in ``AppRequestContext/sessionUser``.
///
/// `SessionMiddleware` swallows storage errors while loading, so with the database unreachable a logged-in user
/// would look anonymous and be sent to the login page. Around the load, ``DatabasePersistDriver`` records in a
/// task-local ``SessionLoad`` the ``StoreError`` it meets, or the user the loaded session names; the request stops
/// with that error before any handler runs, or goes on with that user. A stored session whose value is not one this
/// server wrote is no session, and an ERROR record (the row was changed behind the server's back). The session is read once, so a page during
/// an outage waits one query timeout, not two.
struct StoreSessionMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let sessions: SessionMiddleware<AppRequestContext>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let load = SessionLoad()
        return try await SessionLoad.$current.withValue(load) {
            try await sessions.handle(request, context: context) { request, context in
                if let error = load.error { throw error }
                if load.unreadable {
                    context.logger.error(
                        "Stored session cannot be read on \(request.method) \(request.uri.path); treated as no session",
                        metadata: ["method": .string(request.method.rawValue), "path": .string(request.uri.path)]
                    )
                }
                var context = context
                context.sessionUser = load.user
                return try await next(request, context)
            }
        }
    }
}

/// What loading this request's session met: the store's failure, or the user the session names.
final class SessionLoad: Sendable {
    /// Bound by ``StoreSessionMiddleware`` for the request it handles.
    @TaskLocal static var current: SessionLoad?

    private let box = NIOLockedValueBox<(error: StoreError?, user: User?, unreadable: Bool)>((nil, nil, false))

    /// The store's failure while loading the session, if there was one.
    var error: StoreError? { box.withLockedValue { $0.error } }

    /// The user the loaded session names, read with it; nil without a session or when that user no longer exists.
    var user: User? { box.withLockedValue { $0.user } }

    /// Whether a stored session was found whose value is not a session this server wrote (so it counts as none).
    var unreadable: Bool { box.withLockedValue { $0.unreadable } }

    func recordUnreadable() {
        box.withLockedValue { $0.unreadable = true }
    }

    func record(_ error: StoreError) {
        box.withLockedValue { $0.error = $0.error ?? error }
    }

    func record(user: User?) {
        box.withLockedValue { $0.user = user }
    }
}
