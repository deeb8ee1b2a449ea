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
/// through the `Router` to the service with a per-connection concurrency limit and per-call deadlines, answers pings,
/// and ends the connection with a goaway on any protocol error. Its state is a
/// `ConnectionStateMachine`; this handler performs the machine's actions and holds only the work
/// of each call (its task and deadline timer) and the caller.
final class RPCConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = Frame
    typealias OutboundIn = Frame
    typealias OutboundOut = Frame

    /// The running work of a call, by the call's serial.
    private struct Work {
        var task: Task<Void, Never>?
        var deadline: Scheduled<Void>?
    }

    private let router: Router
    private let limits: ServerConfiguration.ConnectionLimits
    private let perCaller: ConnectionsPerCaller?
    private var admitted: String?
    private var logger: Logger
    private var caller: CallerIdentity?
    private var state: ConnectionStateMachine
    private var work: [UInt64: Work] = [:]

    /// Creates a handler; `caller` is set here only by tests that run without TLS.
    init(
        service: VerificationService,
        limits: ServerConfiguration.ConnectionLimits,
        logger: Logger,
        caller: CallerIdentity? = nil,
        perCaller: ConnectionsPerCaller? = nil
    ) {
        self.router = Router(service: service, logger: logger)
        self.limits = limits
        self.perCaller = perCaller
        self.logger = logger
        self.caller = caller
        self.state = ConnectionStateMachine(
            maxConcurrentCalls: limits.maxConcurrentCallsPerConnection,
            authenticated: caller != nil
        )
    }

    // MARK: Events

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case let tls as TLSUserEvent:
            if case .handshakeCompleted = tls { self.authenticate(context: context) }
            context.fireUserInboundEventTriggered(event)
        case let event as ServerConnectionEvent where event == .drain:
            self.perform(self.state.drainRequested(), context: context)
        case let event as IdleStateHandler.IdleStateEvent where event == .all:
            self.perform(self.state.idleTimeoutFired(), context: context)
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
                    self.router.service.metrics.limited("too_many_connections")
                    self.logger.notice(
                        "connection refused: too many for this certificate",
                        metadata: ["tenant": "\(caller.tenant)"]
                    )
                    let status = RPCStatus(
                        .resourceExhausted,
                        "too many connections for this certificate",
                        reason: "too_many_connections"
                    )
                    self.perform(self.state.terminate(status), context: context)
                    return
                }
                self.admitted = caller.uri
            }
            self.caller = caller
            self.state.authenticationSucceeded()
            self.logger[metadataKey: "tenant"] = "\(caller.tenant)"
            self.logger[metadataKey: "role"] = "\(caller.role.rawValue)"
            if let terminal = caller.terminal { self.logger[metadataKey: "terminal"] = "\(terminal)" }
            self.logger.debug("connection authenticated")
        } catch {
            self.logger.notice("client certificate refused", metadata: ["reason": "\(error)"])
            self.router.service.metrics.handshakeFailed("identity")
            let status = RPCStatus(
                .unauthenticated,
                "the client certificate names no simverify identity",
                reason: "bad_identity"
            )
            self.perform(self.state.terminate(status), context: context)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = Self.unwrapInboundIn(data)
        let header = frame.header
        switch header.type {
        case .request:
            self.request(context: context, frame: frame)
        case .cancel:
            self.perform(self.state.cancelReceived(id: header.correlationID, method: header.method), context: context)
        case .ping:
            guard self.state.phase != .closed else { return }
            context.writeAndFlush(
                Self.wrapOutboundOut(Frame(type: .pong, correlationID: header.correlationID, payload: frame.payload)),
                promise: nil
            )
        case .pong:
            break
        case .goaway:
            self.perform(self.state.goAwayReceived(), context: context)
        case .response, .error:
            self.perform(self.state.terminate(FrameError(.unexpectedFrame).status), context: context)
        }
    }

    private func request(context: ChannelHandlerContext, frame: Frame) {
        let header = frame.header
        var refusal: RPCStatus?
        if let caller = self.caller, !MethodAuthorization.allows(caller.role, header.method) {
            refusal = ConnectionStateMachine.roleNotAllowed(header.method, role: caller.role.rawValue)
        }
        let serial: UInt64
        switch self.state.requestReceived(header, refusal: refusal) {
        case .refuse(let actions):
            return self.perform(actions, context: context)
        case .start(let started):
            serial = started
        }
        guard let caller = self.caller else { preconditionFailure("a call started before authentication") }

        let requested = Int(header.deadlineMilliseconds)
        let milliseconds =
            requested == 0
            ? self.limits.defaultDeadlineMilliseconds : min(requested, self.limits.maxDeadlineMilliseconds)
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let id = header.correlationID
        var work = Work()
        work.deadline = context.eventLoop.scheduleTask(in: .milliseconds(Int64(milliseconds))) {
            let (handler, context) = loopBound.value
            let actions = handler.state.deadlineExpired(id: id, serial: serial)
            if !actions.isEmpty {
                handler.logger.notice(
                    "deadline exceeded",
                    metadata: ["method": "\(header.method)", "deadline_ms": "\(milliseconds)"]
                )
            }
            handler.perform(actions, context: context)
        }
        let router = self.router
        let payload = frame.payload
        let eventLoop = context.eventLoop
        work.task = Task {
            let result = await router.handle(method: header.method, payload: payload, caller: caller)
            eventLoop.execute {
                let (handler, context) = loopBound.value
                handler.perform(handler.state.workFinished(id: id, serial: serial), context: context, result: result)
                handler.work[serial] = nil
            }
        }
        self.work[serial] = work
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        switch error {
        case let error as FrameError:
            self.logger.notice("protocol error", metadata: ["code": "\(error.code)"])
            self.perform(self.state.terminate(error.status), context: context)
        case let error as ByteToMessageDecoderError:
            self.logger.notice("protocol error", metadata: ["decoder": "\(error)"])
            let status = RPCStatus(.invalidArgument, "protocol error", reason: "decoder")
            self.perform(self.state.terminate(status), context: context)
        default:
            if !self.state.authenticated, error is NIOSSLError || error is BoringSSLError {
                self.router.service.metrics.handshakeFailed("tls")
            }
            self.logger.debug("connection error", metadata: ["error_type": "\(type(of: error))"])
            self.perform(self.state.transportFailed(), context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let admitted = self.admitted {
            self.perCaller?.release(admitted)
            self.admitted = nil
        }
        self.perform(self.state.channelClosed(), context: context)
        context.fireChannelInactive()
    }

    // MARK: Actions

    /// Performs the machine's actions in order; `result` is the finished call's, for `deliver`
    /// and `recordUndelivered`.
    private func perform(
        _ actions: [ConnectionStateMachine.Action],
        context: ChannelHandlerContext,
        result: Result<ByteBuffer, RPCStatus>? = nil
    ) {
        for action in actions {
            switch action {
            case .recordLimit(let header, let limit):
                if let caller = self.caller {
                    let router = self.router
                    Task { await router.recordLimit(limit, method: header.method, caller: caller) }
                }
            case .fail(let header, let status):
                self.write(context: context, header: header, .failure(status))
            case .deliver(let header):
                guard let result else { preconditionFailure("deliver without a result") }
                self.write(context: context, header: header, result)
            case .stopWork(let serial):
                if let work = self.work.removeValue(forKey: serial) {
                    work.task?.cancel()
                    work.deadline?.cancel()
                }
            case .recordUndelivered(_, let why):
                if case .success(let payload) = result, let caller = self.caller {
                    let router = self.router
                    Task { await router.recordUndelivered(response: payload, reason: why, caller: caller) }
                }
            case .sendGoAway(let status):
                let payload = (try? Router.encode(Simverify_V1_Status(status))) ?? ByteBuffer()
                context.writeAndFlush(
                    Self.wrapOutboundOut(Frame(type: .goaway, correlationID: 0, payload: payload)),
                    promise: nil
                )
            case .close:
                context.close(promise: nil)
            }
        }
    }

    private func write(context: ChannelHandlerContext, header: FrameHeader, _ result: Result<ByteBuffer, RPCStatus>) {
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
                payload: (try? Router.encode(Simverify_V1_Status(status))) ?? ByteBuffer()
            )
        }
        context.writeAndFlush(Self.wrapOutboundOut(frame), promise: nil)
    }
}
