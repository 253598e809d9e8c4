import Hummingbird
import HummingbirdAuth
import NIOConcurrencyHelpers

/// hummingbird-auth's `SessionMiddleware`, except that a session the store could not load is an error (a 503
/// page), not a logged-out request.
///
/// `SessionMiddleware` swallows storage errors while loading, so with the database unreachable a logged-in user
/// would look anonymous and be sent to the login page. Around the load, ``DatabasePersistDriver`` records the
/// ``StoreError`` it meets in a task-local ``SessionLoadFailure``, and the request stops with that error before
/// any handler runs. The session is read once, so a page during an outage waits one query timeout, not two.
struct StoreSessionMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let sessions: SessionMiddleware<AppRequestContext>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let failure = SessionLoadFailure()
        return try await SessionLoadFailure.$current.withValue(failure) {
            try await sessions.handle(request, context: context) { request, context in
                if let error = failure.error { throw error }
                return try await next(request, context)
            }
        }
    }
}

/// The store's failure while loading this request's session, if there was one.
final class SessionLoadFailure: Sendable {
    /// Bound by ``StoreSessionMiddleware`` for the request it handles.
    @TaskLocal static var current: SessionLoadFailure?

    private let box = NIOLockedValueBox<StoreError?>(nil)

    var error: StoreError? { box.withLockedValue { $0 } }

    func record(_ error: StoreError) {
        box.withLockedValue { $0 = $0 ?? error }
    }
}
