import Hummingbird
import Logging

/// The per-request state the microblog's middleware and controllers share.
package struct AppRequestContext: RequestContext {
    package var coreContext: CoreRequestContextStorage
    /// This browser's session, loaded by ``SessionMiddleware``; handlers start and end it.
    let session: RequestSession
    /// The signed-in user: the session's, set by ``SessionMiddleware``, or a remember-me cookie's, set by
    /// ``CurrentUserMiddleware``.
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
        session = RequestSession()
        currentUser = nil
        form = nil
        flashes = []
        flashOutbox = nil
    }

    /// Form bodies are small: anything larger is a 413.
    package var maxUploadSize: Int { FormData.maximumBodySize }
}
