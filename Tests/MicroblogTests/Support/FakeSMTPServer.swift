import NIOCore
import NIOPosix
import NIOConcurrencyHelpers

/// A scripted SMTP server on NIO for the faults aiosmtpd cannot produce.
final class FakeSMTPServer: Sendable {
    enum Behaviour: Sendable {
        /// Answers everything until `354` for DATA, then never answers the final dot.
        case stallInData
        /// Greets the first connection with `421` and closes it; later connections are served normally.
        case busyOnFirstConnection
        /// Answers EHLO with a line that is not an SMTP reply.
        case garbageReply
        /// Refuses `MAIL FROM` with `550`.
        case rejectSender
    }

    struct Counts: Sendable, Equatable {
        var connections = 0
        var delivered = 0
    }

    let port: Int
    private let channel: any Channel
    private let counts: CountsBox

    /// What the server has seen so far.
    var current: Counts { counts.update { _ in } }

    private init(port: Int, channel: any Channel, counts: CountsBox) {
        self.port = port
        self.channel = channel
        self.counts = counts
    }

    static func start(_ behaviour: Behaviour) async throws -> FakeSMTPServer {
        let box = CountsBox()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineDecoder()))
                    try child.pipeline.syncOperations.addHandler(FakeSMTPSession(behaviour: behaviour, counts: box))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        guard let port = channel.localAddress?.port else {
            throw FailedToBind()
        }
        return FakeSMTPServer(port: port, channel: channel, counts: box)
    }

    func stop() async {
        try? await channel.close()
    }

    struct FailedToBind: Error {}
}

/// The counts, shared by the sessions and the server object.
private final class CountsBox: Sendable {
    private let counts = NIOLockedValueBox(FakeSMTPServer.Counts())

    func update(_ change: (inout FakeSMTPServer.Counts) -> Void) -> FakeSMTPServer.Counts {
        counts.withLockedValue { counts in
            change(&counts)
            return counts
        }
    }
}

/// Lines without their CRLF.
private struct LineDecoder: ByteToMessageDecoder {
    typealias InboundOut = String

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")),
            var bytes = buffer.readBytes(length: newline - buffer.readerIndex + 1)
        else { return .needMoreData }
        bytes.removeLast()
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        context.fireChannelRead(Self.wrapInboundOut(String(decoding: bytes, as: UTF8.self)))
        return .continue
    }
}

private final class FakeSMTPSession: ChannelInboundHandler {
    typealias InboundIn = String
    typealias OutboundOut = ByteBuffer

    let behaviour: FakeSMTPServer.Behaviour
    let counts: CountsBox
    private var inData = false

    init(behaviour: FakeSMTPServer.Behaviour, counts: CountsBox) {
        self.behaviour = behaviour
        self.counts = counts
    }

    func channelActive(context: ChannelHandlerContext) {
        let number = counts.update { $0.connections += 1 }.connections
        if behaviour == .busyOnFirstConnection, number == 1 {
            send("421 4.3.2 Service not available, closing transmission channel", context: context)
            context.close(promise: nil)
            return
        }
        send("220 fake.smtp.local ESMTP", context: context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let line = unwrapInboundIn(data)
        if inData {
            guard line == "." else { return }
            inData = false
            if behaviour == .stallInData { return }
            _ = counts.update { $0.delivered += 1 }
            send("250 2.0.0 accepted", context: context)
            return
        }
        let verb = line.prefix(4).uppercased()
        switch verb {
        case "EHLO":
            if behaviour == .garbageReply {
                send("HTTP/1.1 400 Bad Request", context: context)
            } else {
                send("250-fake.smtp.local\r\n250 8BITMIME", context: context)
            }
        case "MAIL":
            send(behaviour == .rejectSender ? "550 5.7.1 sender rejected" : "250 2.1.0 OK", context: context)
        case "RCPT": send("250 2.1.5 OK", context: context)
        case "DATA":
            inData = true
            send("354 End data with <CR><LF>.<CR><LF>", context: context)
        case "QUIT":
            send("221 2.0.0 Bye", context: context)
            context.close(promise: nil)
        default: send("500 5.5.2 what?", context: context)
        }
    }

    private func send(_ text: String, context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: text + "\r\n")), promise: nil)
    }
}
