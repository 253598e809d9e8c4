import NIOCore
import NIOPosix

/// A listener that reads each request and closes the connection without an answer: what a proxy sees when an
/// instance closes an idle keep-alive connection just as the proxy sends a request on it (a graceful stop does so).
/// A real instance closes such a connection only in a window of microseconds; this one always does.
final class UnansweringServer: Sendable {
    private let channel: any Channel

    private init(channel: any Channel) {
        self.channel = channel
    }

    static func start(port: Int) async throws -> UnansweringServer {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(CloseOnRead())
                }
            }
            .bind(host: "127.0.0.1", port: port)
            .get()
        return UnansweringServer(channel: channel)
    }

    func stop() async {
        try? await channel.close()
    }

    private final class CloseOnRead: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            context.close(promise: nil)
        }
    }
}
