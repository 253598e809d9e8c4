import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// An HTTPS client of the site at `https://localhost:<port>` (a reverse proxy), with a new connection for each
/// request, opened from `source`: Linux routes all of 127.0.0.0/8 to loopback, so each source address is a visitor
/// of its own as the proxy sees it. Trusts only `certificate`, which must name `localhost`.
struct TLSTransport: HTTPTransport {
    let port: Int
    let source: String
    private let context: NIOSSLContext

    init(port: Int, certificate: String, source: String = "127.0.0.1") throws {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = .file(certificate)
        self.context = try NIOSSLContext(configuration: configuration)
        self.port = port
        self.source = source
    }

    func send(uri: String, method: HTTPRequest.Method, headers: HTTPFields, body: ByteBuffer?) async throws -> Page {
        let promise = MultiThreadedEventLoopGroup.singleton.next().makePromise(of: Page.self)
        let context = context
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(to: try SocketAddress(ipAddress: source, port: 0))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: "localhost"))
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ResponseCollector(promise: promise))
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
        var head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method.rawValue), uri: uri)
        for field in headers { head.headers.add(name: field.name.rawName, value: field.value) }
        if !head.headers.contains(name: "Host") { head.headers.add(name: "Host", value: "localhost:\(port)") }
        if let body { head.headers.add(name: "Content-Length", value: String(body.readableBytes)) }
        head.headers.add(name: "Connection", value: "close")
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        if let body { channel.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil) }
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        defer { channel.close(promise: nil) }
        return try await promise.futureResult.get()
    }
}

/// Collects one response into a ``Page``; fails it if the connection ends first.
private final class ResponseCollector: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    private let promise: EventLoopPromise<Page>
    private var head: HTTPResponseHead?
    private var body = ByteBuffer()
    private var done = false

    init(promise: EventLoopPromise<Page>) {
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
        case .body(var part):
            body.writeBuffer(&part)
        case .end:
            guard let head, !done else { return }
            done = true
            var fields = HTTPFields()
            for header in head.headers {
                if let name = HTTPField.Name(header.name) { fields.append(HTTPField(name: name, value: header.value)) }
            }
            promise.succeed(Page(status: .init(code: Int(head.status.code)), headers: fields, body: String(buffer: body)))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !done {
            done = true
            promise.fail(error)
        }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !done {
            done = true
            promise.fail(ChannelError.eof)
        }
    }
}
