import SimverifyWire
import Testing

@testable import SimverifyServer

/// The connection's and the server's state machines alone: no channel, no socket, no engine.
@Suite struct ConnectionStateMachineTests {
    typealias Machine = ConnectionStateMachine
    typealias Action = ConnectionStateMachine.Action

    static func request(_ id: UInt32, _ method: MethodID = .verify) -> FrameHeader {
        FrameHeader(type: .request, method: method, correlationID: id, payloadLength: 0)
    }

    /// An authenticated machine allowing two calls in flight, with calls 1 (Verify) and 2
    /// (Health) started as serials 1 and 2.
    static func twoCalls() -> Machine {
        var machine = Machine(maxConcurrentCalls: 2, authenticated: true)
        #expect(machine.requestReceived(Self.request(1)) == .start(serial: 1))
        #expect(machine.requestReceived(Self.request(2, .health)) == .start(serial: 2))
        return machine
    }

    enum Event: Sendable, CustomStringConvertible {
        case request(UInt32, MethodID)
        case finished(UInt32, serial: UInt64)
        case deadline(UInt32, serial: UInt64)
        case cancel(UInt32, MethodID)
        case goAwayReceived, drain, idle, inactive, transportFailed
        case protocolError

        var description: String {
            switch self {
            case .request(let id, let method): "request \(id) \(method)"
            case .finished(let id, let serial): "finished \(id)#\(serial)"
            case .deadline(let id, let serial): "deadline \(id)#\(serial)"
            case .cancel(let id, let method): "cancel \(id) \(method)"
            case .goAwayReceived: "goaway received"
            case .drain: "drain"
            case .idle: "idle"
            case .inactive: "inactive"
            case .transportFailed: "transport failed"
            case .protocolError: "protocol error"
            }
        }

        func apply(to machine: inout Machine) -> [Action] {
            switch self {
            case .request(let id, let method):
                switch machine.requestReceived(ConnectionStateMachineTests.request(id, method)) {
                case .start: return []
                case .refuse(let actions): return actions
                }
            case .finished(let id, let serial): return machine.workFinished(id: id, serial: serial)
            case .deadline(let id, let serial): return machine.deadlineExpired(id: id, serial: serial)
            case .cancel(let id, let method): return machine.cancelReceived(id: id, method: method)
            case .goAwayReceived: return machine.goAwayReceived()
            case .drain: return machine.drainRequested()
            case .idle: return machine.idleTimeoutFired()
            case .inactive: return machine.channelClosed()
            case .transportFailed: return machine.transportFailed()
            case .protocolError: return machine.terminate(FrameError(.unexpectedFrame).status)
            }
        }
    }

    /// Events on `twoCalls()`, the actions of the last one, the phase and the calls after it,
    /// and the abandoned Verify serials with why.
    struct Case: Sendable, CustomTestStringConvertible {
        var events: [Event]
        var actions: [Action]
        var phase: Machine.Phase
        var inFlight: Set<UInt32>
        var abandoned: [UInt64: String] = [:]
        var testDescription: String { self.events.map(\.description).joined(separator: " → ") }
    }

    static let protocolStatus = FrameError(.unexpectedFrame).status

    static let cases: [Case] = [
        // A result for a call in flight is delivered; a stale serial (the id reused) is not.
        Case(
            events: [.finished(1, serial: 1)],
            actions: [.stopWork(serial: 1), .deliver(Self.request(1))],
            phase: .active,
            inFlight: [2]
        ),
        Case(events: [.finished(1, serial: 7)], actions: [], phase: .active, inFlight: [1, 2]),
        // A deadline answers DEADLINE_EXCEEDED; a Verify's result after it is recorded undelivered.
        Case(
            events: [.deadline(1, serial: 1)],
            actions: [.stopWork(serial: 1), .fail(Self.request(1), Machine.deadlineExceeded)],
            phase: .active,
            inFlight: [2],
            abandoned: [1: "deadline_exceeded"]
        ),
        Case(
            events: [.deadline(1, serial: 1), .finished(1, serial: 1)],
            actions: [.recordUndelivered(serial: 1, reason: "deadline_exceeded")],
            phase: .active,
            inFlight: [2]
        ),
        // A deadline after the result is nothing; a Health past its deadline is not "undelivered".
        Case(
            events: [.finished(1, serial: 1), .deadline(1, serial: 1)],
            actions: [],
            phase: .active,
            inFlight: [2]
        ),
        Case(
            events: [.deadline(2, serial: 2), .finished(2, serial: 2)],
            actions: [],
            phase: .active,
            inFlight: [1]
        ),
        // A cancel naming the call's method (or none) ends it; another method or no call: ignored.
        Case(
            events: [.cancel(1, MethodID(rawValue: 0))],
            actions: [.stopWork(serial: 1), .fail(Self.request(1), Machine.cancelled)],
            phase: .active,
            inFlight: [2],
            abandoned: [1: "cancelled"]
        ),
        Case(events: [.cancel(1, .health)], actions: [], phase: .active, inFlight: [1, 2]),
        Case(events: [.cancel(9, .verify)], actions: [], phase: .active, inFlight: [1, 2]),
        // Limits: a third call is refused and recorded; a duplicate id is a protocol error that
        // aborts both calls, sends a goaway and closes.
        Case(
            events: [.request(3, .verify)],
            actions: [
                .recordLimit(Self.request(3), limit: "too_many_calls"), .fail(Self.request(3), Machine.tooManyCalls),
            ],
            phase: .active,
            inFlight: [1, 2]
        ),
        Case(
            events: [.request(2, .health)],
            actions: [
                .stopWork(serial: 1), .fail(Self.request(1), Machine.connectionClosed),
                .stopWork(serial: 2), .fail(Self.request(2, .health), Machine.connectionClosed),
                .sendGoAway(FrameError(.duplicateCorrelationID).status), .close,
            ],
            phase: .closed,
            inFlight: [],
            abandoned: [1: "connection_closed"]
        ),
        // A drain sends a goaway, refuses new calls, closes after the last call's answer.
        Case(events: [.drain], actions: [.sendGoAway(Machine.shuttingDown)], phase: .draining, inFlight: [1, 2]),
        Case(
            events: [.drain, .request(5, .health)],
            actions: [.fail(Self.request(5, .health), Machine.shuttingDown)],
            phase: .draining,
            inFlight: [1, 2]
        ),
        Case(
            events: [.drain, .finished(1, serial: 1), .finished(2, serial: 2)],
            actions: [.stopWork(serial: 2), .deliver(Self.request(2, .health)), .close],
            phase: .closed,
            inFlight: []
        ),
        Case(
            events: [.drain, .finished(1, serial: 1), .cancel(2, .health)],
            actions: [.stopWork(serial: 2), .fail(Self.request(2, .health), Machine.cancelled), .close],
            phase: .closed,
            inFlight: []
        ),
        // The client's goaway drains without a goaway of ours; a second drain adds nothing.
        Case(events: [.goAwayReceived], actions: [], phase: .draining, inFlight: [1, 2]),
        Case(events: [.goAwayReceived, .drain], actions: [], phase: .draining, inFlight: [1, 2]),
        // A protocol error while draining answers the calls and closes, without a second goaway.
        Case(
            events: [.drain, .finished(2, serial: 2), .protocolError],
            actions: [.stopWork(serial: 1), .fail(Self.request(1), Machine.connectionClosed), .close],
            phase: .closed,
            inFlight: [],
            abandoned: [1: "connection_closed"]
        ),
        // Idle closes only an idle connection.
        Case(events: [.idle], actions: [], phase: .active, inFlight: [1, 2]),
        Case(
            events: [.finished(1, serial: 1), .finished(2, serial: 2), .idle],
            actions: [.sendGoAway(Machine.idle), .close],
            phase: .closed,
            inFlight: []
        ),
        // The channel going away or failing stops all work without answers; a Verify's late
        // result is then recorded undelivered, and nothing else is ever written.
        Case(
            events: [.inactive],
            actions: [.stopWork(serial: 1), .stopWork(serial: 2)],
            phase: .closed,
            inFlight: [],
            abandoned: [1: "connection_closed"]
        ),
        Case(
            events: [.transportFailed],
            actions: [.stopWork(serial: 1), .stopWork(serial: 2), .close],
            phase: .closed,
            inFlight: [],
            abandoned: [1: "connection_closed"]
        ),
        Case(
            events: [.inactive, .finished(1, serial: 1)],
            actions: [.recordUndelivered(serial: 1, reason: "connection_closed")],
            phase: .closed,
            inFlight: []
        ),
        Case(
            events: [.inactive, .request(4, .health), .drain, .idle, .protocolError, .cancel(2, .health)],
            actions: [],
            phase: .closed,
            inFlight: [],
            abandoned: [1: "connection_closed"]
        ),
    ]

    @Test(arguments: Self.cases) func events(_ test: Case) {
        var machine = Self.twoCalls()
        var last: [Action] = []
        for event in test.events { last = event.apply(to: &machine) }
        #expect(last == test.actions)
        #expect(machine.phase == test.phase)
        #expect(Set(machine.calls.keys) == test.inFlight)
        #expect(machine.abandoned == test.abandoned)
    }

    @Test func nothingStartsBeforeAuthenticationAndSerialsNeverRepeat() {
        var machine = Machine(maxConcurrentCalls: 1)
        let early = machine.requestReceived(Self.request(1))
        #expect(early == .refuse([.sendGoAway(Machine.notAuthenticated), .close]))
        #expect(machine.phase == .closed)

        var reused = Machine(maxConcurrentCalls: 1, authenticated: true)
        let first = reused.requestReceived(Self.request(1))
        #expect(first == .start(serial: 1))
        _ = reused.deadlineExpired(id: 1, serial: 1)
        // The id is free again, under a new serial; the old work's result is not delivered for it.
        let second = reused.requestReceived(Self.request(1))
        #expect(second == .start(serial: 2))
        let late = reused.workFinished(id: 1, serial: 1)
        #expect(late == [.recordUndelivered(serial: 1, reason: "deadline_exceeded")])
        let onTime = reused.workFinished(id: 1, serial: 2)
        #expect(onTime == [.stopWork(serial: 2), .deliver(Self.request(1))])
        // A role refusal is answered after the connection's own checks, and starts nothing.
        let refusal = Machine.roleNotAllowed(.verify, role: "regulator")
        let refused = reused.requestReceived(Self.request(3), refusal: refusal)
        #expect(refused == .refuse([.fail(Self.request(3), refusal)]))
        #expect(reused.calls.isEmpty)
    }
}

@Suite struct ServerStateMachineTests {
    typealias Machine = ServerStateMachine<Int, String>

    @Test func connectionsAreTakenOnlyWhileRunningAndBelowTheLimit() {
        var machine = Machine(maxConnections: 2)
        let early = machine.connectionOpened(1, "early")
        #expect(!early)
        machine.listening()
        #expect(machine.phase == .running)
        let taken = [
            machine.connectionOpened(1, "a"), machine.connectionOpened(2, "b"), machine.connectionOpened(3, "c"),
        ]
        #expect(taken == [true, true, false])
        let closed = machine.connectionClosed(1)
        #expect(closed == .none)
        let again = machine.connectionOpened(3, "c")
        #expect(again)
        #expect(machine.connectionCount == 2)
        // Closing one it never took changes nothing.
        let unknown = machine.connectionClosed(9)
        #expect(unknown == .none && machine.connectionCount == 2)
    }

    @Test func aDrainEndsWhenTheLastConnectionCloses() {
        var machine = Machine(maxConnections: 4)
        machine.listening()
        _ = machine.connectionOpened(1, "a")
        _ = machine.connectionOpened(2, "b")
        let shutdown = machine.shutdownRequested()
        #expect(Set(shutdown.drain) == ["a", "b"] && !shutdown.stopped)
        #expect(machine.phase == .draining)
        let late = machine.connectionOpened(3, "late")
        #expect(!late)
        let second = machine.shutdownRequested()
        #expect(second.drain.isEmpty && !second.stopped)
        let closes = [machine.connectionClosed(1), machine.connectionClosed(2)]
        #expect(closes == [.none, .drained])
        #expect(machine.phase == .stopped)
        let left = machine.drainDeadlinePassed()
        #expect(left.isEmpty)
    }

    @Test func theDrainDeadlineHandsBackWhatIsStillOpen() {
        var machine = Machine(maxConnections: 4)
        machine.listening()
        _ = machine.connectionOpened(1, "stuck")
        _ = machine.shutdownRequested()
        let left = machine.drainDeadlinePassed()
        #expect(left == ["stuck"])
        #expect(machine.phase == .stopped)
        // Its close, seen later, is not a second "drained".
        let closed = machine.connectionClosed(1)
        #expect(closed == .none && machine.connectionCount == 0)
    }

    @Test func aShutdownWithNothingOpenStopsAtOnceAndAFailedStartStaysStopped() {
        var idle = Machine(maxConnections: 1)
        idle.listening()
        let shutdown = idle.shutdownRequested()
        #expect(shutdown.stopped && idle.phase == .stopped)

        var failed = Machine(maxConnections: 1)
        failed.failedToStart()
        failed.listening()
        let opened = failed.connectionOpened(1, "a")
        #expect(failed.phase == .stopped && !opened)
        let again = failed.shutdownRequested()
        #expect(again.stopped)
    }
}
