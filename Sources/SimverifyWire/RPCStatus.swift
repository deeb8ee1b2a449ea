/// gRPC's status codes, with gRPC's numbers (docs/PROTOCOL.md, "Status codes").
public enum RPCStatusCode: UInt32, Sendable, Hashable, CaseIterable {
    case ok = 0
    case cancelled = 1
    case unknown = 2
    case invalidArgument = 3
    case deadlineExceeded = 4
    case notFound = 5
    case alreadyExists = 6
    case permissionDenied = 7
    case resourceExhausted = 8
    case failedPrecondition = 9
    case aborted = 10
    case outOfRange = 11
    case unimplemented = 12
    case `internal` = 13
    case unavailable = 14
    case dataLoss = 15
    case unauthenticated = 16
}

/// A failed call: a status code, a message safe to show, and a stable machine-readable reason.
public struct RPCStatus: Error, Hashable, Sendable, CustomStringConvertible {
    /// The status code.
    public var code: RPCStatusCode
    /// Safe to show: never an image byte, an embedding or a raw identifier.
    public var message: String
    /// A stable reason such as "not_jpeg" or "too_many_calls"; empty when the code says it all.
    public var reason: String

    /// Creates a status.
    public init(_ code: RPCStatusCode, _ message: String, reason: String = "") {
        self.code = code
        self.message = message
        self.reason = reason
    }

    public var description: String {
        "\(self.code)" + (self.reason.isEmpty ? "" : " (\(self.reason))") + ": \(self.message)"
    }
}

extension FrameError {
    /// The status a goaway for this error carries.
    public var status: RPCStatus {
        switch self.code {
        case .unknownMethod: RPCStatus(.unimplemented, "unknown method", reason: self.code.description)
        case .payloadTooLarge: RPCStatus(.resourceExhausted, "payload over the limit", reason: self.code.description)
        case .frameTimeout: RPCStatus(.deadlineExceeded, "frame not completed in time", reason: self.code.description)
        default: RPCStatus(.invalidArgument, "protocol error", reason: self.code.description)
        }
    }
}
