import NIOConcurrencyHelpers
import NIOCore
import NIOSSL

/// One SMTP reply: a code and its text lines (several for a multi-line `250-...` reply).
struct SMTPReply: Sendable, Equatable {
    var code: Int
    var lines: [String]

    var text: String { lines.joined(separator: " | ") }
}

/// Turns bytes into replies; `NNN-text` lines continue a reply, `NNN text` (or `NNN`) ends it.
/// Anything else is a ``SMTPError/malformedReply(_:)``.
struct SMTPReplyDecoder: ByteToMessageDecoder {
    typealias InboundOut = SMTPReply

    static let maxLineLength = 4096
    private var code: Int?
    private var lines: [String] = []

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            if buffer.readableBytes > Self.maxLineLength {
                throw SMTPError.malformedReply("line longer than \(Self.maxLineLength) bytes")
            }
            return .needMoreData
        }
        let length = newline - buffer.readerIndex + 1
        guard var bytes = buffer.readBytes(length: length) else { return .needMoreData }
        bytes.removeLast()
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        let line = String(decoding: bytes, as: UTF8.self)
        guard bytes.count >= 3, bytes[0...2].allSatisfy({ (0x30...0x39).contains($0) }),
            (0x32...0x35).contains(bytes[0]),
            bytes.count == 3 || bytes[3] == UInt8(ascii: " ") || bytes[3] == UInt8(ascii: "-")
        else {
            throw SMTPError.malformedReply(String(line.prefix(120)))
        }
        let lineCode = Int(bytes[0] - 0x30) * 100 + Int(bytes[1] - 0x30) * 10 + Int(bytes[2] - 0x30)
        if let code, code != lineCode {
            throw SMTPError.malformedReply("reply code changed inside a multi-line reply: \(line.prefix(120))")
        }
        code = lineCode
        lines.append(bytes.count > 4 ? String(line.dropFirst(4)) : "")
        if bytes.count > 3, bytes[3] == UInt8(ascii: "-") {
            return .continue
        }
        let reply = SMTPReply(code: lineCode, lines: lines)
        code = nil
        lines = []
        context.fireChannelRead(NIOAny(reply))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws
        -> DecodingState
    {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}

/// A command to send (or `nil` bytes to only wait, for the greeting) and the promise for its reply.
struct SMTPCommand: Sendable {
    var bytes: ByteBuffer?
    var step: String
    var timeout: TimeAmount
    var reply: EventLoopPromise<SMTPReply>
}

/// Matches each command with the next reply, with a timeout per command; fails the waiting command
/// when the connection errs or closes, and closes the connection on a timeout.
final class SMTPClientHandler: ChannelDuplexHandler {
    typealias InboundIn = SMTPReply
    typealias OutboundIn = SMTPCommand
    typealias OutboundOut = ByteBuffer

    private var pending: (command: SMTPCommand, timer: Scheduled<Void>?)?
    private var unsolicited: [SMTPReply] = []
    private var failure: SMTPError?
    /// The connection's first failure, shared with the client: a write that fails because the channel closed
    /// reports it (a TLS handshake failure closes the channel before the buffered `EHLO` is written).
    private let firstFailure: NIOLockedValueBox<SMTPError?>

    /// - Parameters:
    ///   - greeting: completed with the server's greeting, which may come (and the connection close, as with a
    ///     `421`) before the client sends anything.
    ///   - firstFailure: where the first failure of the connection is recorded.
    init(greeting: SMTPCommand, firstFailure: NIOLockedValueBox<SMTPError?>) {
        pending = (greeting, nil)
        self.firstFailure = firstFailure
    }

    func channelActive(context: ChannelHandlerContext) {
        if let (command, timer) = pending, timer == nil {
            pending = (command, scheduleTimeout(for: command, context: context))
        }
        context.fireChannelActive()
    }

    private func scheduleTimeout(for command: SMTPCommand, context: ChannelHandlerContext) -> Scheduled<Void> {
        let step = command.step
        return context.eventLoop.assumeIsolated().scheduleTask(in: command.timeout) { [self] in
            self.fail(.timedOut(step: step))
            context.close(promise: nil)
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let command = unwrapOutboundIn(data)
        if failure != nil, unsolicited.isEmpty, let failure {
            command.reply.fail(failure)
            promise?.fail(failure)
            return
        }
        guard pending == nil else {
            command.reply.fail(SMTPError.malformedReply("command \(command.step) sent before the previous reply"))
            promise?.succeed()
            return
        }
        if !unsolicited.isEmpty {
            // A reply that arrived before anyone asked (the greeting).
            command.reply.succeed(unsolicited.removeFirst())
            if let bytes = command.bytes {
                context.writeAndFlush(wrapOutboundOut(bytes), promise: promise)
            } else {
                promise?.succeed()
            }
            return
        }
        pending = (command, scheduleTimeout(for: command, context: context))
        if let bytes = command.bytes {
            context.writeAndFlush(wrapOutboundOut(bytes), promise: promise)
        } else {
            promise?.succeed()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let reply = unwrapInboundIn(data)
        if let (command, timer) = pending {
            pending = nil
            timer?.cancel()
            command.reply.succeed(reply)
        } else {
            unsolicited.append(reply)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(Self.map(error, step: pending?.command.step ?? "the conversation"))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(.connectionClosed(step: pending?.command.step ?? "the conversation"))
        context.fireChannelInactive()
    }

    private func fail(_ error: SMTPError) {
        if failure == nil {
            failure = error
            firstFailure.withLockedValue { if $0 == nil { $0 = error } }
        }
        if let (command, timer) = pending {
            pending = nil
            timer?.cancel()
            command.reply.fail(error)
        }
    }

    static func map(_ error: any Error, step: String) -> SMTPError {
        switch error {
        case let error as SMTPError: return error
        case let error as NIOSSLError: return .tlsFailed(String(describing: error))
        case let error as BoringSSLError: return .tlsFailed(String(describing: error))
        case let error as NIOSSLExtraError: return .tlsFailed(String(describing: error))
        default: return .connectionClosed(step: "\(step) (\(error))")
        }
    }
}
