/// The life of the RPC server as a value: initial → running → draining → stopped, with the
/// connections it holds. Events mutate it and return what the server must do; `RPCServer` keeps
/// it behind a lock and performs the actions (after Hummingbird's server and grpc-swift's
/// server state machine). Generic over the connection so that it is tested without sockets.
struct ServerStateMachine<ID: Hashable, Connection> {
    enum Phase: Equatable {
        /// Created; not listening yet.
        case initial
        /// Listening and accepting connections.
        case running
        /// Shutting down: no new connection, the open ones finish their calls.
        case draining
        /// Every connection is gone (or was closed at the drain deadline); nothing is accepted.
        case stopped
    }

    /// What a closed connection means for the server.
    enum ClosedAction: Equatable {
        case none
        /// It was the last one of a drain: the server has stopped.
        case drained
    }

    /// What a shutdown asks of the server.
    struct ShutdownAction {
        /// Send each a drain (a goaway; their calls finish).
        var drain: [Connection]
        /// True when nothing was open: the server stopped at once.
        var stopped: Bool
    }

    private(set) var phase: Phase = .initial
    private var connections: [ID: Connection] = [:]
    private let maxConnections: Int

    init(maxConnections: Int) {
        self.maxConnections = maxConnections
    }

    /// Connections open now.
    var connectionCount: Int { self.connections.count }

    /// The listener is bound.
    mutating func listening() {
        if self.phase == .initial { self.phase = .running }
    }

    /// The listener could not start: nothing will ever be accepted.
    mutating func failedToStart() {
        self.phase = .stopped
    }

    /// A connection was accepted by the socket. Returns whether the server keeps it: only while
    /// running and below the connection limit.
    mutating func connectionOpened(_ id: ID, _ connection: Connection) -> Bool {
        guard self.phase == .running, self.connections.count < self.maxConnections else { return false }
        self.connections[id] = connection
        return true
    }

    /// A connection closed, for whatever reason.
    mutating func connectionClosed(_ id: ID) -> ClosedAction {
        guard self.connections.removeValue(forKey: id) != nil else { return .none }
        guard self.phase == .draining, self.connections.isEmpty else { return .none }
        self.phase = .stopped
        return .drained
    }

    /// Graceful shutdown began: the listener is closed; every open connection drains.
    mutating func shutdownRequested() -> ShutdownAction {
        switch self.phase {
        case .initial, .running:
            if self.connections.isEmpty {
                self.phase = .stopped
                return ShutdownAction(drain: [], stopped: true)
            }
            self.phase = .draining
            return ShutdownAction(drain: Array(self.connections.values), stopped: false)
        case .draining:
            return ShutdownAction(drain: [], stopped: false)
        case .stopped:
            return ShutdownAction(drain: [], stopped: true)
        }
    }

    /// The drain deadline passed: returns the connections still open, which the server closes;
    /// the server has stopped.
    mutating func drainDeadlinePassed() -> [Connection] {
        guard self.phase == .draining else { return [] }
        self.phase = .stopped
        let left = Array(self.connections.values)
        // They stay listed until their close is seen, so that the count stays true.
        return left
    }
}
