/// Events the server sends down a connection's pipeline.
enum ServerConnectionEvent: Sendable {
    /// The server is shutting down: send a goaway, finish in-flight calls, close.
    case drain
}
