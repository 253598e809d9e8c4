import Logging
import NIOCore
import NIOHTTPTypes

/// One connection's deadlines: closes it when a request head is not complete within the head deadline (a silent
/// client, a client trickling headers, or an idle keep-alive connection) or a body is not complete within the body
/// deadline (a client trickling its body). The deadlines are wall-clock, so a byte now and then does not extend them.
/// Nothing runs on the clock while the server itself is working on a request.
final class RequestDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let limits: ConnectionLimits
    private let logger: Logger
    private var started = false
    private var deadline: Scheduled<Void>?

    init(limits: ConnectionLimits, logger: Logger) {
        self.limits = limits
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelDeadline()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelDeadline()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            arm(limits.bodyTimeout, context: context, reason: "request body", level: .info)
        case .body:
            break
        case .end:
            cancelDeadline()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            // The response is complete: the connection now waits for its next request head.
            arm(limits.headTimeout, context: context, reason: "request head", level: .debug)
        }
        context.write(data, promise: promise)
    }

    private func start(context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        arm(limits.headTimeout, context: context, reason: "request head", level: .debug)
    }

    /// An idle keep-alive connection reaching its head deadline is routine (DEBUG); a request cut off in its
    /// body is worth an INFO line.
    private func arm(_ timeout: Duration, context: ChannelHandlerContext, reason: String, level: Logger.Level) {
        cancelDeadline()
        let logger = logger
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(timeout)) {
            logger.log(level: level, "Connection closed: \(reason) not complete within \(timeout)")
            context.close(promise: nil)
        }
    }

    private func cancelDeadline() {
        deadline?.cancel()
        deadline = nil
    }
}
