import SimverifyWire

/// The life of one client connection as a value: active → draining → closed. Events (a request,
/// its result, a deadline, a cancel, a goaway, a drain, an error) mutate it and return the
/// actions the channel handler performs; the handler holds no state of its own but the work of
/// each call (its task and deadline timer, by serial) and the caller. Every way of ending a call
/// or the connection goes through here, so each request gets exactly one answer and teardown has
/// one path.
struct ConnectionStateMachine {
    /// A call in flight.
    struct Call: Equatable {
        var header: FrameHeader
        /// Unique on this connection: a correlation id may be reused once its call is answered,
        /// while the abandoned call's work still runs.
        var serial: UInt64
    }

    enum Phase: Equatable {
        /// Accepting calls.
        case active
        /// A goaway was sent or received: no new call starts, those in flight finish.
        case draining
        /// The connection is closed; nothing more is written.
        case closed
    }

    /// What the handler must do, in order.
    enum Action: Equatable {
        /// Answer a call with an error (the call is no longer in flight).
        case fail(FrameHeader, RPCStatus)
        /// Write the call's result, which the handler holds.
        case deliver(FrameHeader)
        /// Stop the work of a call: cancel its task and its deadline timer.
        case stopWork(serial: UInt64)
        /// A Verify whose result came after it was abandoned: record it as undelivered.
        case recordUndelivered(serial: UInt64, reason: String)
        /// Send a goaway carrying this status.
        case sendGoAway(RPCStatus)
        /// A connection limit refused this call: the service records it (for the methods it
        /// audits).
        case recordLimit(FrameHeader, limit: String)
        /// Close the channel.
        case close
    }

    /// How a request is taken.
    enum RequestDecision: Equatable {
        /// Start the call's work under this serial.
        case start(serial: UInt64)
        /// Do not start it; perform these actions (an error answer, or a goaway).
        case refuse([Action])
    }

    private(set) var phase: Phase = .active
    private(set) var authenticated: Bool
    private(set) var calls: [UInt32: Call] = [:]
    /// Verify calls ended without their result (cancelled, past their deadline, their connection
    /// closing), by serial, with why: a result that still arrives was recorded but not delivered,
    /// and is marked so in the audit log. An entry goes when its call's work ends.
    private(set) var abandoned: [UInt64: String] = [:]
    private var nextSerial: UInt64 = 0
    private let maxConcurrentCalls: Int

    init(maxConcurrentCalls: Int, authenticated: Bool = false) {
        self.maxConcurrentCalls = maxConcurrentCalls
        self.authenticated = authenticated
    }

    // MARK: Statuses the connection itself answers with (docs/PROTOCOL.md)

    static let shuttingDown = RPCStatus(.unavailable, "the server is shutting down", reason: "shutting_down")
    static let idle = RPCStatus(.unavailable, "idle connection closed", reason: "idle")
    static let cancelled = RPCStatus(.cancelled, "cancelled by the client", reason: "cancelled")
    static let deadlineExceeded = RPCStatus(.deadlineExceeded, "deadline exceeded", reason: "deadline_exceeded")
    static let notAuthenticated = RPCStatus(.unauthenticated, "not authenticated", reason: "not_authenticated")
    static let tooManyCalls = RPCStatus(
        .resourceExhausted,
        "too many calls in flight on this connection",
        reason: "too_many_calls"
    )
    static let connectionClosed = RPCStatus(
        .aborted,
        "the connection is closing after a protocol error",
        reason: "connection_closed"
    )

    static func roleNotAllowed(_ method: MethodID, role: String) -> RPCStatus {
        RPCStatus(.permissionDenied, "\(method) is not allowed for the \(role) role", reason: "role_not_allowed")
    }

    // MARK: Events

    /// The caller's certificate was accepted.
    mutating func authenticationSucceeded() {
        self.authenticated = true
    }

    /// A request arrived. `refusal` is the caller's own refusal of the method (its role), if any;
    /// it is answered after the connection's own checks.
    mutating func requestReceived(_ header: FrameHeader, refusal: RPCStatus? = nil) -> RequestDecision {
        guard self.phase != .closed else { return .refuse([]) }
        guard self.authenticated else { return .refuse(self.terminate(Self.notAuthenticated)) }
        guard self.calls[header.correlationID] == nil else {
            return .refuse(self.terminate(FrameError(.duplicateCorrelationID).status))
        }
        if self.phase == .draining { return .refuse([.fail(header, Self.shuttingDown)]) }
        if let refusal { return .refuse([.fail(header, refusal)]) }
        guard self.calls.count < self.maxConcurrentCalls else {
            return .refuse([.recordLimit(header, limit: "too_many_calls"), .fail(header, Self.tooManyCalls)])
        }
        self.nextSerial += 1
        self.calls[header.correlationID] = Call(header: header, serial: self.nextSerial)
        return .start(serial: self.nextSerial)
    }

    /// A call's work ended with a result (success or a status) the handler holds. Delivers it if
    /// the call is still in flight; otherwise the result is dropped, and a Verify abandoned
    /// earlier is recorded as undelivered.
    mutating func workFinished(id: UInt32, serial: UInt64) -> [Action] {
        guard let call = self.calls[id], call.serial == serial, self.phase != .closed else {
            guard let why = self.abandoned.removeValue(forKey: serial) else { return [] }
            return [.recordUndelivered(serial: serial, reason: why)]
        }
        self.calls[id] = nil
        return [.stopWork(serial: serial), .deliver(call.header)] + self.closeIfDrained()
    }

    /// The deadline of a call passed.
    mutating func deadlineExpired(id: UInt32, serial: UInt64) -> [Action] {
        guard self.phase != .closed, let call = self.calls[id], call.serial == serial else { return [] }
        return self.end(call, Self.deadlineExceeded, why: "deadline_exceeded")
    }

    /// The client cancelled a call. A cancel for no call in flight, or naming another method than
    /// its call's (0 names none), is ignored.
    mutating func cancelReceived(id: UInt32, method: MethodID) -> [Action] {
        guard self.phase != .closed, let call = self.calls[id],
            method.rawValue == 0 || method == call.header.method
        else { return [] }
        return self.end(call, Self.cancelled, why: "cancelled")
    }

    /// The client sent a goaway: finish what is in flight, then close.
    mutating func goAwayReceived() -> [Action] {
        guard self.phase == .active else { return [] }
        self.phase = .draining
        return self.closeIfDrained()
    }

    /// The server is shutting down: a goaway, calls in flight finish, then the connection closes.
    mutating func drainRequested() -> [Action] {
        guard self.phase == .active else { return [] }
        self.phase = .draining
        return [.sendGoAway(Self.shuttingDown)] + self.closeIfDrained()
    }

    /// The connection was idle past its timeout: closed if no call is in flight.
    mutating func idleTimeoutFired() -> [Action] {
        guard self.phase != .closed, self.calls.isEmpty else { return [] }
        return self.terminate(Self.idle)
    }

    /// A protocol or authentication error: every call in flight is answered (ABORTED,
    /// connection_closed), a goaway with `status` is sent unless one was, and the connection
    /// closes at once.
    mutating func terminate(_ status: RPCStatus) -> [Action] {
        guard self.phase != .closed else { return [] }
        var actions: [Action] = []
        for call in self.calls.values.sorted(by: { $0.header.correlationID < $1.header.correlationID }) {
            actions += self.end(call, Self.connectionClosed, why: "connection_closed")
        }
        if self.phase == .active { actions.append(.sendGoAway(status)) }
        return actions + self.closeNow()
    }

    /// An error below the protocol (a TLS or socket failure): close without answering.
    mutating func transportFailed() -> [Action] {
        self.closeNow()
    }

    /// The channel went inactive: whatever is in flight is abandoned, nothing more is written.
    mutating func channelClosed() -> [Action] {
        self.closeNow(closing: false)
    }

    // MARK: Transitions

    /// Ends a call in flight with an error answer; a Verify is noted as abandoned.
    private mutating func end(_ call: Call, _ status: RPCStatus, why: String) -> [Action] {
        self.calls[call.header.correlationID] = nil
        self.abandon(call, why: why)
        return [.stopWork(serial: call.serial), .fail(call.header, status)] + self.closeIfDrained()
    }

    private mutating func abandon(_ call: Call, why: String) {
        if call.header.method == .verify { self.abandoned[call.serial] = why }
    }

    private mutating func closeIfDrained() -> [Action] {
        guard self.phase == .draining, self.calls.isEmpty else { return [] }
        return self.closeNow()
    }

    /// The one teardown path: stops all work, abandons what was in flight, closes.
    private mutating func closeNow(closing: Bool = true) -> [Action] {
        guard self.phase != .closed else { return [] }
        self.phase = .closed
        var actions: [Action] = []
        for call in self.calls.values.sorted(by: { $0.serial < $1.serial }) {
            self.abandon(call, why: "connection_closed")
            actions.append(.stopWork(serial: call.serial))
        }
        self.calls.removeAll()
        if closing { actions.append(.close) }
        return actions
    }
}
