/// What one client may cost the server: how many connections are open at once, how long a request head and a
/// request body may take to arrive, and how large the head may be. A client past a deadline is disconnected,
/// so a slow or silent client holds a connection for seconds, never for ever.
package struct ConnectionLimits: Sendable {
    /// Open connections at most (`MAX_CONNECTIONS`, 1024); further ones wait in the listen backlog until one closes.
    /// The server accepts in batches of up to 4, so it may hold 3 more than this.
    package var maxConnections: Int
    /// From a connection's start, or from the end of its previous response, until its request head is complete
    /// (`REQUEST_HEAD_TIMEOUT`, seconds, 15). This is also how long an idle keep-alive connection stays open.
    package var headTimeout: Duration
    /// From a complete request head until the end of its body (`REQUEST_BODY_TIMEOUT`, seconds, 30).
    package var bodyTimeout: Duration
    /// The request line and headers together, in bytes; more is a 400 and a closed connection.
    package var maxHeadBytes: Int
    /// Header fields per request; more is a 400 and a closed connection.
    package var maxHeaderCount: Int

    package init(
        maxConnections: Int = 1024,
        headTimeout: Duration = .seconds(15),
        bodyTimeout: Duration = .seconds(30),
        maxHeadBytes: Int = 32 * 1024,
        maxHeaderCount: Int = 100
    ) {
        self.maxConnections = maxConnections
        self.headTimeout = headTimeout
        self.bodyTimeout = bodyTimeout
        self.maxHeadBytes = maxHeadBytes
        self.maxHeaderCount = maxHeaderCount
    }
}
