import Hummingbird
import HummingbirdAuth
import Logging

/// The per-request state the microblog's middleware and controllers share.
package struct AppRequestContext: SessionRequestContext, RequestContext {
    package var coreContext: CoreRequestContextStorage
    package let sessions: SessionContext<SessionState>
    /// The user the session names, read with the session by ``StoreSessionMiddleware``; nil without a session or
    /// when that user no longer exists. ``CurrentUserMiddleware`` decides from it who is logged in.
    var sessionUser: User?
    /// The logged-in user, set by ``CurrentUserMiddleware``.
    package var currentUser: User?
    /// The parsed form of a POST, set by ``CSRFMiddleware`` once its token is verified.
    package var form: FormData?
    /// The TCP peer's address: the client, or the reverse proxy in front.
    package let peerAddress: String?
    /// The client's IP address (the peer's, or the one a trusted proxy vouches for), for per-client limits; set by
    /// ``ClientOriginMiddleware``.
    package var remoteAddress: String?
    /// The origin the browser addressed (scheme, host, port), for the same-origin check; set by
    /// ``ClientOriginMiddleware``.
    var publicOrigin: PublicOrigin?
    /// The messages flashed by the previous request, set by ``FlashMiddleware``; the layout shows them.
    var flashes: [String]
    /// Where a handler's flashed messages go, set by ``FlashMiddleware``.
    var flashOutbox: FlashOutbox?

    package init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        peerAddress = source.channel.remoteAddress?.ipAddress
        remoteAddress = peerAddress
        publicOrigin = nil
        sessions = .init()
        sessionUser = nil
        currentUser = nil
        form = nil
        flashes = []
        flashOutbox = nil
    }

    /// Form bodies are small: anything larger is a 413.
    package var maxUploadSize: Int { FormData.maximumBodySize }
}
