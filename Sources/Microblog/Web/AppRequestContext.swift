import Hummingbird
import HummingbirdAuth
import Logging

/// The per-request state the microblog's middleware and controllers share.
public struct AppRequestContext: SessionRequestContext, RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let sessions: SessionContext<SessionState>
    /// The user the session names, read with the session by ``StoreSessionMiddleware``; nil without a session or
    /// when that user no longer exists. ``CurrentUserMiddleware`` decides from it who is logged in.
    var sessionUser: User?
    /// The logged-in user, set by ``CurrentUserMiddleware``.
    public var currentUser: User?
    /// The parsed form of a POST, set by ``CSRFMiddleware`` once its token is verified.
    public var form: FormData?
    /// The client's IP address, for per-client limits.
    public let remoteAddress: String?
    /// The messages flashed by the previous request, set by ``FlashMiddleware``; the layout shows them.
    var flashes: [String]
    /// Where a handler's flashed messages go, set by ``FlashMiddleware``.
    var flashOutbox: FlashOutbox?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress?.ipAddress
        sessions = .init()
        sessionUser = nil
        currentUser = nil
        form = nil
        flashes = []
        flashOutbox = nil
    }

    /// Form bodies are small: anything larger is a 413.
    public var maxUploadSize: Int { FormData.maximumBodySize }
}
