import Logging
import NIOCore
import NIOSSL
import NIOTLS
import SimverifyCore
import SimverifyPKI
import SimverifyProto
import SimverifyProtoMapping
import SimverifyWire

/// One client connection: authenticates the caller from its certificate, dispatches requests
/// to the service with a per-connection concurrency limit and per-call deadlines, answers pings,
/// and ends the connection with a goaway on any protocol error.
final class RPCConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = Frame
    typealias OutboundIn = Frame
    typealias OutboundOut = Frame

    private struct Call {
        var header: FrameHeader
        /// Unique on this connection: a correlation id may be reused once its call is answered,
        /// while the abandoned call's work still runs.
        var serial: UInt64
        var task: Task<Void, Never>?
        var deadline: Scheduled<Void>?
    }

    private let service: VerificationService
    /// Verify calls ended without their result (cancelled, past their deadline, their connection
    /// closing), by the call's serial, with why: a result that still arrives was recorded but not
    /// delivered, and is marked so in the audit log. An entry goes when its call's work ends.
    private var abandoned: [UInt64: String] = [:]
    private var nextSerial: UInt64 = 0
    private let limits: ServerConfiguration.ConnectionLimits
    private let perCaller: ConnectionsPerCaller?
    private var admitted: String?
    private var logger: Logger
    private var caller: CallerIdentity?
    private var calls: [UInt32: Call] = [:]
    private var draining = false
    private var closed = false

    /// Creates a handler; `caller` is set here only by tests that run without TLS.
    init(
        service: VerificationService,
        limits: ServerConfiguration.ConnectionLimits,
        logger: Logger,
        caller: CallerIdentity? = nil,
        perCaller: ConnectionsPerCaller? = nil
    ) {
        self.service = service
        self.limits = limits
        self.perCaller = perCaller
        self.logger = logger
        self.caller = caller
    }

    // MARK: Events

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case let tls as TLSUserEvent:
            if case .handshakeCompleted = tls { self.authenticate(context: context) }
            context.fireUserInboundEventTriggered(event)
        case let event as ServerConnectionEvent where event == .drain:
            self.goAway(
                context: context,
                RPCStatus(.unavailable, "the server is shutting down", reason: "shutting_down")
            )
        case let event as IdleStateHandler.IdleStateEvent where event == .all:
            if self.calls.isEmpty {
                self.goAway(context: context, RPCStatus(.unavailable, "idle connection closed", reason: "idle"))
            }
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    private func authenticate(context: ChannelHandlerContext) {
        do {
            guard let certificate = try context.pipeline.syncOperations.nioSSL_peerCertificate() else {
                throw RPCStatus(.unauthenticated, "a client certificate is required", reason: "no_certificate")
            }
            let caller = try CallerIdentity(derEncodedCertificate: try certificate.toDERBytes())
            if let perCaller = self.perCaller {
                guard perCaller.admit(caller.uri) else {
                    self.logger.notice(
                        "connection refused: too many for this certificate",
                        metadata: ["tenant": "\(caller.tenant)"]
                    )
                    self.goAway(
                        context: context,
                        RPCStatus(
                            .resourceExhausted,
                            "too many connections for this certificate",
                            reason: "too_many_connections"
                        )
                    )
                    return
                }
                self.admitted = caller.uri
            }
            self.caller = caller
            self.logger[metadataKey: "tenant"] = "\(caller.tenant)"
            self.logger[metadataKey: "role"] = "\(caller.role.rawValue)"
            if let terminal = caller.terminal { self.logger[metadataKey: "terminal"] = "\(terminal)" }
            self.logger.debug("connection authenticated")
        } catch {
            self.logger.notice("client certificate refused", metadata: ["reason": "\(error)"])
            self.goAway(
                context: context,
                RPCStatus(
                    .unauthenticated,
                    "the client certificate names no simverify identity",
                    reason: "bad_identity"
                )
            )
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = Self.unwrapInboundIn(data)
        let header = frame.header
        switch header.type {
        case .request:
            self.request(context: context, frame: frame)
        case .cancel:
            // A cancel for no call in flight, or naming another method than its call's, is ignored.
            guard let found = self.calls[header.correlationID],
                header.method.rawValue == 0 || header.method == found.header.method,
                var call = self.calls.removeValue(forKey: header.correlationID)
            else { return }
            call.task?.cancel()
            call.deadline?.cancel()
            call.task = nil
            self.abandon(call, why: "cancelled")
            self.answer(
                context: context,
                header: call.header,
                .failure(RPCStatus(.cancelled, "cancelled by the client", reason: "cancelled"))
            )
        case .ping:
            context.writeAndFlush(
                Self.wrapOutboundOut(Frame(type: .pong, correlationID: header.correlationID, payload: frame.payload)),
                promise: nil
            )
        case .pong:
            break
        case .goaway:
            self.draining = true
            self.closeIfDrained(context: context)
        case .response, .error:
            self.goAway(context: context, FrameError(.unexpectedFrame).status)
        }
    }

    private func request(context: ChannelHandlerContext, frame: Frame) {
        let header = frame.header
        guard let caller = self.caller else {
            self.goAway(context: context, RPCStatus(.unauthenticated, "not authenticated", reason: "not_authenticated"))
            return
        }
        guard self.calls[header.correlationID] == nil else {
            self.goAway(context: context, FrameError(.duplicateCorrelationID).status)
            return
        }
        if self.draining {
            return self.answer(
                context: context,
                header: header,
                .failure(RPCStatus(.unavailable, "the server is shutting down", reason: "shutting_down"))
            )
        }
        guard MethodAuthorization.allows(caller.role, header.method) else {
            self.logger.notice("method refused for role", metadata: ["method": "\(header.method)"])
            return self.answer(
                context: context,
                header: header,
                .failure(
                    RPCStatus(
                        .permissionDenied,
                        "\(header.method) is not allowed for the \(caller.role.rawValue) role",
                        reason: "role_not_allowed"
                    )
                )
            )
        }
        guard self.calls.count < self.limits.maxConcurrentCallsPerConnection else {
            if header.method == .verify || header.method == .extractTemplate {
                let service = self.service
                Task { try? await service.recordLimit("too_many_calls", method: header.method, caller: caller) }
            }
            return self.answer(
                context: context,
                header: header,
                .failure(
                    RPCStatus(
                        .resourceExhausted,
                        "too many calls in flight on this connection",
                        reason: "too_many_calls"
                    )
                )
            )
        }

        let requested = Int(header.deadlineMilliseconds)
        let milliseconds =
            requested == 0
            ? self.limits.defaultDeadlineMilliseconds : min(requested, self.limits.maxDeadlineMilliseconds)
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let id = header.correlationID
        self.nextSerial += 1
        let serial = self.nextSerial
        var call = Call(header: header, serial: serial)
        call.deadline = context.eventLoop.scheduleTask(in: .milliseconds(Int64(milliseconds))) {
            let (handler, context) = loopBound.value
            guard handler.calls[id]?.serial == serial, var expired = handler.calls.removeValue(forKey: id) else {
                return
            }
            expired.task?.cancel()
            expired.task = nil
            handler.abandon(expired, why: "deadline_exceeded")
            handler.logger.notice(
                "deadline exceeded",
                metadata: ["method": "\(header.method)", "deadline_ms": "\(milliseconds)"]
            )
            handler.answer(
                context: context,
                header: header,
                .failure(RPCStatus(.deadlineExceeded, "deadline exceeded", reason: "deadline_exceeded"))
            )
        }
        self.calls[id] = call
        let service = self.service
        let payload = frame.payload
        let eventLoop = context.eventLoop
        self.calls[id]?.task = Task {
            let result = await service.handle(method: header.method, payload: payload, caller: caller)
            eventLoop.execute {
                let (handler, context) = loopBound.value
                guard handler.calls[id]?.serial == serial, let finished = handler.calls.removeValue(forKey: id) else {
                    // Timed out, cancelled or cut off: a Verify decided anyway is marked undelivered.
                    if let why = handler.abandoned.removeValue(forKey: serial), case .success(let payload) = result {
                        Task { await service.recordUndelivered(response: payload, reason: why, caller: caller) }
                    }
                    return
                }
                finished.deadline?.cancel()
                handler.answer(context: context, header: header, result)
            }
        }
    }

    /// Notes a Verify call ended without its result (see `abandoned`).
    private func abandon(_ call: Call, why: String) {
        if call.header.method == .verify { self.abandoned[call.serial] = why }
    }

    // MARK: Answers

    private func answer(context: ChannelHandlerContext, header: FrameHeader, _ result: Result<ByteBuffer, RPCStatus>) {
        guard !self.closed else { return }
        let frame: Frame
        switch result {
        case .success(let payload):
            frame = Frame(type: .response, method: header.method, correlationID: header.correlationID, payload: payload)
        case .failure(let status):
            if status.code == .internal || status.code == .resourceExhausted {
                self.logger.notice(
                    "call failed",
                    metadata: ["method": "\(header.method)", "status": "\(status.code)", "reason": "\(status.reason)"]
                )
            }
            frame = Frame(
                type: .error,
                method: header.method,
                correlationID: header.correlationID,
                payload: (try? VerificationService.encode(Simverify_V1_Status(status))) ?? ByteBuffer()
            )
        }
        context.writeAndFlush(Self.wrapOutboundOut(frame), promise: nil)
        self.closeIfDrained(context: context)
    }

    private func goAway(context: ChannelHandlerContext, _ status: RPCStatus) {
        guard !self.closed else { return }
        // A protocol or authentication error closes at once: every call still in flight is
        // answered first (ABORTED, connection_closed), so each request gets exactly one answer.
        if status.reason != "shutting_down" {
            for (id, var call) in self.calls.sorted(by: { $0.key < $1.key }) {
                call.task?.cancel()
                call.deadline?.cancel()
                call.task = nil
                self.calls[id] = nil
                self.abandon(call, why: "connection_closed")
                self.answer(
                    context: context,
                    header: call.header,
                    .failure(
                        RPCStatus(
                            .aborted,
                            "the connection is closing after a protocol error",
                            reason: "connection_closed"
                        )
                    )
                )
            }
        }
        if !self.draining {
            self.draining = true
            let payload = (try? VerificationService.encode(Simverify_V1_Status(status))) ?? ByteBuffer()
            context.writeAndFlush(
                Self.wrapOutboundOut(Frame(type: .goaway, correlationID: 0, payload: payload)),
                promise: nil
            )
        }
        // A protocol or authentication error closes at once; a drain lets calls finish.
        if status.reason != "shutting_down" {
            self.closeNow(context: context)
        } else {
            self.closeIfDrained(context: context)
        }
    }

    private func closeIfDrained(context: ChannelHandlerContext) {
        if self.draining && self.calls.isEmpty { self.closeNow(context: context) }
    }

    private func closeNow(context: ChannelHandlerContext) {
        guard !self.closed else { return }
        self.closed = true
        for call in self.calls.values {
            call.task?.cancel()
            call.deadline?.cancel()
            self.abandon(call, why: "connection_closed")
        }
        self.calls.removeAll()
        context.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        switch error {
        case let error as FrameError:
            self.logger.notice("protocol error", metadata: ["code": "\(error.code)"])
            self.goAway(context: context, error.status)
        case let error as ByteToMessageDecoderError:
            self.logger.notice("protocol error", metadata: ["decoder": "\(error)"])
            self.goAway(context: context, RPCStatus(.invalidArgument, "protocol error", reason: "decoder"))
        default:
            self.logger.debug("connection error", metadata: ["error_type": "\(type(of: error))"])
            self.closeNow(context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let admitted = self.admitted {
            self.perCaller?.release(admitted)
            self.admitted = nil
        }
        self.closed = true
        for call in self.calls.values {
            call.task?.cancel()
            call.deadline?.cancel()
            self.abandon(call, why: "connection_closed")
        }
        self.calls.removeAll()
        context.fireChannelInactive()
    }
}
