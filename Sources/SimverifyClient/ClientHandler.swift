import NIOCore
import SimverifyProto
import SimverifyProtoMapping
import SimverifyWire

/// A call waiting to be written: the handler gives it a correlation id.
struct ClientCall {
    var method: MethodID
    var payload: ByteBuffer
    var deadlineMilliseconds: UInt32
    var promise: EventLoopPromise<ByteBuffer>
}

/// Multiplexes calls on one connection: assigns correlation ids, matches answers, fails every
/// pending call when the connection ends, and stops new calls after a goaway.
final class ClientHandler: ChannelDuplexHandler {
    typealias InboundIn = Frame
    typealias OutboundIn = ClientCall
    typealias OutboundOut = Frame

    private var nextID: UInt32 = 1
    private var pending: [UInt32: (promise: EventLoopPromise<ByteBuffer>, timer: Scheduled<Void>?)] = [:]
    private var goneAway: RPCStatus?

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let call = Self.unwrapOutboundIn(data)
        if let status = self.goneAway {
            call.promise.fail(status)
            promise?.fail(status)
            return
        }
        let id = self.nextID
        self.nextID = self.nextID == UInt32.max ? 1 : self.nextID + 1
        var timer: Scheduled<Void>?
        if call.deadlineMilliseconds > 0 {
            // The server enforces the deadline; this covers a server that stops answering.
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            timer = context.eventLoop.scheduleTask(in: .milliseconds(Int64(call.deadlineMilliseconds) + 2000)) {
                let (handler, context) = loopBound.value
                guard let entry = handler.pending.removeValue(forKey: id) else { return }
                context.writeAndFlush(
                    Self.wrapOutboundOut(Frame(type: .cancel, correlationID: id, payload: ByteBuffer())),
                    promise: nil
                )
                entry.promise.fail(
                    RPCStatus(.deadlineExceeded, "no answer before the deadline", reason: "deadline_exceeded")
                )
            }
        }
        self.pending[id] = (call.promise, timer)
        let frame = Frame(
            type: .request,
            method: call.method,
            correlationID: id,
            deadlineMilliseconds: call.deadlineMilliseconds,
            payload: call.payload
        )
        context.write(Self.wrapOutboundOut(frame), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = Self.unwrapInboundIn(data)
        switch frame.header.type {
        case .response:
            self.complete(frame.header.correlationID, .success(frame.payload))
        case .error:
            self.complete(frame.header.correlationID, .failure(Self.status(from: frame.payload)))
        case .goaway:
            let status = Self.status(from: frame.payload)
            self.goneAway = RPCStatus(.unavailable, "the server sent goaway: \(status.message)", reason: status.reason)
        case .ping:
            context.writeAndFlush(
                Self.wrapOutboundOut(
                    Frame(type: .pong, correlationID: frame.header.correlationID, payload: frame.payload)
                ),
                promise: nil
            )
        case .pong, .request, .cancel:
            break
        }
    }

    private func complete(_ id: UInt32, _ result: Result<ByteBuffer, RPCStatus>) {
        guard let entry = self.pending.removeValue(forKey: id) else { return }
        entry.timer?.cancel()
        switch result {
        case .success(let payload): entry.promise.succeed(payload)
        case .failure(let status): entry.promise.fail(status)
        }
    }

    static func status(from payload: ByteBuffer) -> RPCStatus {
        let bytes = Array(payload.readableBytesView)
        guard let status = try? Simverify_V1_Status(serializedBytes: bytes) else {
            return RPCStatus(.unknown, "an unreadable status from the server")
        }
        return RPCStatus(status)
    }

    private func failAll(_ status: RPCStatus) {
        let entries = self.pending.values
        self.pending.removeAll()
        for entry in entries {
            entry.timer?.cancel()
            entry.promise.fail(status)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.failAll(self.goneAway ?? RPCStatus(.unavailable, "the connection closed", reason: "connection_closed"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        self.failAll(RPCStatus(.unavailable, "connection error: \(type(of: error))", reason: "connection_error"))
        context.close(promise: nil)
    }
}
