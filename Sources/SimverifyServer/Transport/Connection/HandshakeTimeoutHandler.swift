import NIOCore
import NIOSSL
import NIOTLS

/// Closes a connection whose TLS handshake does not complete in time, then steps aside.
final class HandshakeTimeoutHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let timeout: TimeAmount
    private let expired: @Sendable () -> Void
    private var timer: Scheduled<Void>?

    /// `expired` is told when the timeout closes a connection (for the operators' metrics).
    init(timeout: TimeAmount, expired: @escaping @Sendable () -> Void = {}) {
        self.timeout = timeout
        self.expired = expired
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { self.start(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        self.start(context: context)
        context.fireChannelActive()
    }

    private func start(context: ChannelHandlerContext) {
        guard self.timer == nil else { return }
        let channel = context.channel
        let expired = self.expired
        self.timer = context.eventLoop.scheduleTask(in: self.timeout) {
            expired()
            channel.close(promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        context.fireUserInboundEventTriggered(event)
        if let tls = event as? TLSUserEvent, case .handshakeCompleted = tls {
            self.timer?.cancel()
            self.timer = nil
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.timer?.cancel()
        self.timer = nil
    }
}
