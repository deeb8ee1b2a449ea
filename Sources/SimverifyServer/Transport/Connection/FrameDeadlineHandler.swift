import NIOCore
import SimverifyWire

/// Closes a connection whose sender starts a frame and does not finish it in time: a stalled or
/// trickling sender (slowloris) cannot hold a connection and its buffers.
///
/// Sits before the frame decoder and passes bytes through unchanged, tracking only frame
/// boundaries. A frame's deadline is `base` after its first byte, plus its payload length at
/// `minimumBytesPerSecond`. On expiry it writes a goaway and closes.
final class FrameDeadlineHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let base: TimeAmount
    private let minimumBytesPerSecond: Int
    private var header = ByteBuffer()
    private var payloadRemaining: Int?
    private var timer: Scheduled<Void>?
    private var frameStarted: NIODeadline?

    init(base: TimeAmount, minimumBytesPerSecond: Int) {
        self.base = base
        self.minimumBytesPerSecond = max(1, minimumBytesPerSecond)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = Self.unwrapInboundIn(data)
        var view = bytes
        while view.readableBytes > 0 {
            if let remaining = self.payloadRemaining {
                let step = min(remaining, view.readableBytes)
                view.moveReaderIndex(forwardBy: step)
                if remaining - step == 0 { self.frameEnded() } else { self.payloadRemaining = remaining - step }
                continue
            }
            if self.header.readableBytes == 0 { self.frameBegan(context: context) }
            let take = min(FrameHeader.size - self.header.readableBytes, view.readableBytes)
            var slice = view.readSlice(length: take)!
            self.header.writeBuffer(&slice)
            if self.header.readableBytes == FrameHeader.size {
                // The decoder validates the header; here only the length matters.
                let length = Int(self.header.getInteger(at: self.header.readerIndex + 16, as: UInt32.self) ?? 0)
                self.header.clear()
                if length == 0 {
                    self.frameEnded()
                } else {
                    self.payloadRemaining = length
                    self.extendDeadline(context: context, length: length)
                }
            }
        }
        context.fireChannelRead(Self.wrapInboundOut(bytes))
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.timer?.cancel()
        self.timer = nil
        context.fireChannelInactive()
    }

    private func frameBegan(context: ChannelHandlerContext) {
        let now = context.eventLoop.now
        self.frameStarted = now
        self.schedule(context: context, at: now + self.base)
    }

    private func extendDeadline(context: ChannelHandlerContext, length: Int) {
        let transfer = TimeAmount.nanoseconds(Int64(Double(length) / Double(self.minimumBytesPerSecond) * 1e9))
        self.schedule(context: context, at: (self.frameStarted ?? context.eventLoop.now) + self.base + transfer)
    }

    private func frameEnded() {
        self.payloadRemaining = nil
        self.frameStarted = nil
        self.timer?.cancel()
        self.timer = nil
    }

    private func schedule(context: ChannelHandlerContext, at deadline: NIODeadline) {
        self.timer?.cancel()
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        self.timer = context.eventLoop.scheduleTask(deadline: deadline) {
            let context = loopBound.value
            context.fireErrorCaught(FrameError(.frameTimeout))
        }
    }
}
