import NIOCore

/// The kind of a frame (docs/PROTOCOL.md, "Frame types").
public enum FrameType: UInt8, Sendable, Hashable, CaseIterable {
    /// A call from client to server.
    case request = 1
    /// A successful answer to a request.
    case response = 2
    /// A failed answer to a request; the payload is a `simverify.v1.Status`.
    case error = 3
    /// The client abandons a request.
    case cancel = 4
    /// Liveness probe of the connection; 8 opaque payload bytes, echoed by a pong.
    case ping = 5
    /// The answer to a ping.
    case pong = 6
    /// The sender will close the connection; the payload is a `simverify.v1.Status`.
    case goaway = 7
}

/// A method of the service; the number is on the wire.
public struct MethodID: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// Liveness and load of the server.
    public static let health = MethodID(rawValue: 1)
    /// Start a liveness session.
    public static let startSession = MethodID(rawValue: 2)
    /// Verify a selfie against an ID card.
    public static let verify = MethodID(rawValue: 3)
    /// Seal an ID-card template.
    public static let extractTemplate = MethodID(rawValue: 4)
    /// What the capture gates would say of one preview frame (no decision, nothing recorded).
    public static let checkFrame = MethodID(rawValue: 5)

    /// The latest signed checkpoint (regulators).
    public static let getCheckpoint = MethodID(rawValue: 16)
    /// A range of audit entries (regulators).
    public static let getEntries = MethodID(rawValue: 17)
    /// An inclusion proof (regulators).
    public static let getInclusionProof = MethodID(rawValue: 18)
    /// A consistency proof (regulators).
    public static let getConsistencyProof = MethodID(rawValue: 19)
    /// Counts by tenant, event, decision and day (regulators).
    public static let stats = MethodID(rawValue: 20)
    /// Entries of one subject, by keyed hash of the ID number (regulators; audited).
    public static let lookupSubject = MethodID(rawValue: 21)

    /// The methods of protocol version 1.
    public static let all: [MethodID] = [
        .health, .startSession, .verify, .extractTemplate, .checkFrame, .getCheckpoint, .getEntries, .getInclusionProof,
        .getConsistencyProof, .stats, .lookupSubject,
    ]

    public var description: String {
        switch self {
        case .health: "Health"
        case .startSession: "StartSession"
        case .verify: "Verify"
        case .extractTemplate: "ExtractTemplate"
        case .checkFrame: "CheckFrame"
        case .getCheckpoint: "GetCheckpoint"
        case .getEntries: "GetEntries"
        case .getInclusionProof: "GetInclusionProof"
        case .getConsistencyProof: "GetConsistencyProof"
        case .stats: "Stats"
        case .lookupSubject: "LookupSubject"
        default: "method-\(self.rawValue)"
        }
    }
}

/// The fixed 20-byte header in front of every frame, big-endian:
///
/// ```
/// 0  magic "SV" (0x53 0x56)   2  version (1)     3  type
/// 4  flags (0)                5  reserved (0)    6  method id (UInt16)
/// 8  correlation id (UInt32)  12 deadline, ms (UInt32, 0 = none)
/// 16 payload length (UInt32)
/// ```
public struct FrameHeader: Hashable, Sendable {
    /// The two magic bytes, "SV".
    public static let magic: UInt16 = 0x5356
    /// The protocol version this code speaks.
    public static let version: UInt8 = 1
    /// Bytes in a header.
    public static let size = 20

    /// The frame's kind.
    public var type: FrameType
    /// Flags; none are defined in version 1, so they must be zero.
    public var flags: UInt8
    /// The method called (requests and their answers; zero on control frames).
    public var method: MethodID
    /// Matches answers to requests on one connection; chosen by the client.
    public var correlationID: UInt32
    /// Relative deadline of a request in milliseconds; 0 means the server's default.
    public var deadlineMilliseconds: UInt32
    /// Bytes of payload after the header.
    public var payloadLength: UInt32

    /// Creates a header.
    public init(
        type: FrameType,
        flags: UInt8 = 0,
        method: MethodID = MethodID(rawValue: 0),
        correlationID: UInt32,
        deadlineMilliseconds: UInt32 = 0,
        payloadLength: UInt32
    ) {
        self.type = type
        self.flags = flags
        self.method = method
        self.correlationID = correlationID
        self.deadlineMilliseconds = deadlineMilliseconds
        self.payloadLength = payloadLength
    }
}

extension ByteBuffer {
    /// Reads a header if `FrameHeader.size` bytes are readable, checking the fixed fields.
    /// - Returns: nil when fewer bytes are readable (nothing is consumed).
    /// - Throws: `FrameError` for a bad magic, version, type or reserved field (nothing is consumed).
    public mutating func readFrameHeader() throws(FrameError) -> FrameHeader? {
        guard let header = try self.peekFrameHeader() else { return nil }
        self.moveReaderIndex(forwardBy: FrameHeader.size)
        return header
    }

    /// Like `readFrameHeader()`, without consuming.
    public func peekFrameHeader() throws(FrameError) -> FrameHeader? {
        guard self.readableBytes >= FrameHeader.size,
            let magic = self.getInteger(at: self.readerIndex, as: UInt16.self),
            let version = self.getInteger(at: self.readerIndex + 2, as: UInt8.self),
            let type = self.getInteger(at: self.readerIndex + 3, as: UInt8.self),
            let flags = self.getInteger(at: self.readerIndex + 4, as: UInt8.self),
            let reserved = self.getInteger(at: self.readerIndex + 5, as: UInt8.self),
            let method = self.getInteger(at: self.readerIndex + 6, as: UInt16.self),
            let correlation = self.getInteger(at: self.readerIndex + 8, as: UInt32.self),
            let deadline = self.getInteger(at: self.readerIndex + 12, as: UInt32.self),
            let length = self.getInteger(at: self.readerIndex + 16, as: UInt32.self)
        else { return nil }
        guard magic == FrameHeader.magic else { throw FrameError(.badMagic) }
        guard version == FrameHeader.version else { throw FrameError(.unsupportedVersion) }
        guard let frameType = FrameType(rawValue: type) else { throw FrameError(.unknownFrameType) }
        guard flags == 0, reserved == 0 else { throw FrameError(.reservedBitsSet) }
        return FrameHeader(
            type: frameType,
            flags: flags,
            method: MethodID(rawValue: method),
            correlationID: correlation,
            deadlineMilliseconds: deadline,
            payloadLength: length
        )
    }

    /// Writes a header.
    /// - Returns: The number of bytes written (`FrameHeader.size`).
    @discardableResult
    public mutating func writeFrameHeader(_ header: FrameHeader) -> Int {
        self.writeInteger(FrameHeader.magic)
            + self.writeInteger(FrameHeader.version)
            + self.writeInteger(header.type.rawValue)
            + self.writeInteger(header.flags)
            + self.writeInteger(UInt8(0))
            + self.writeInteger(header.method.rawValue)
            + self.writeInteger(header.correlationID)
            + self.writeInteger(header.deadlineMilliseconds)
            + self.writeInteger(header.payloadLength)
    }
}
