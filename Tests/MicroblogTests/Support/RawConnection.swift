import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A plain TCP connection to a live server, for clients no HTTP library would be: silent, slow, or sending
/// oversized heads. It writes exactly the bytes it is given and keeps everything the server sends back.
final class RawConnection: Sendable {
    private let channel: any Channel
    private let received: NIOLockedValueBox<ByteBuffer>
    /// Ticks whenever bytes arrive or the connection closes.
    private let changes: AsyncStream<Void>

    private init(channel: any Channel, received: NIOLockedValueBox<ByteBuffer>, changes: AsyncStream<Void>) {
        self.channel = channel
        self.received = received
        self.changes = changes
    }

    static func open(port: Int) async throws -> RawConnection {
        let received = NIOLockedValueBox(ByteBuffer())
        let (changes, tick) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Collector(received: received, tick: tick))
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
        return RawConnection(channel: channel, received: received, changes: changes)
    }

    func send(_ text: String) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: text))
    }

    /// Whether the connection is still open (false once the server has closed it).
    var isOpen: Bool { channel.isActive }

    /// Everything the server has sent so far.
    var response: String { received.withLockedValue { String(buffer: $0) } }

    /// Waits until the server closes the connection, failing after `limit`.
    func waitUntilClosed(limit: Duration = .seconds(20)) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            let channel = channel
            group.addTask { try await channel.closeFuture.get() }
            group.addTask {
                try await Task.sleep(for: limit)
                throw RawConnectionError.stillOpen(after: limit)
            }
            try await group.next()
            group.cancelAll()
        }
    }

    /// Waits until the server's answer to one request is complete (its head and `Content-Length` bytes), or the
    /// connection closes; fails after `limit`.
    func waitForResponse(limit: Duration = .seconds(20)) async throws -> String {
        try await withThrowingTaskGroup(of: String.self) { group in
            group.addTask { [self] in
                for await _ in changes where isComplete(response) || !channel.isActive { break }
                return response
            }
            group.addTask {
                try await Task.sleep(for: limit)
                throw RawConnectionError.noResponse(after: limit)
            }
            let text = try await group.next()!
            group.cancelAll()
            return text
        }
    }

    private func isComplete(_ text: String) -> Bool {
        guard let split = text.range(of: "\r\n\r\n") else { return false }
        let head = text[..<split.lowerBound].lowercased()
        let length = head.firstMatch(of: /content-length: *(\d+)/).flatMap { Int($0.1) } ?? 0
        return text.utf8.count - text[..<split.upperBound].utf8.count >= length
    }

    func close() async {
        try? await channel.close()
    }

    /// Appends what arrives to the shared buffer.
    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let received: NIOLockedValueBox<ByteBuffer>
        let tick: AsyncStream<Void>.Continuation

        init(received: NIOLockedValueBox<ByteBuffer>, tick: AsyncStream<Void>.Continuation) {
            self.received = received
            self.tick = tick
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            _ = received.withLockedValue { $0.writeBuffer(&buffer) }
            tick.yield()
        }

        func channelInactive(context: ChannelHandlerContext) {
            tick.yield()
            tick.finish()
            context.fireChannelInactive()
        }
    }
}

enum RawConnectionError: Error {
    case stillOpen(after: Duration)
    case noResponse(after: Duration)
}
