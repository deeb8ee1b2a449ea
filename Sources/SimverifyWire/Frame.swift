import NIOCore

/// A whole frame: its header and exactly `header.payloadLength` bytes of payload.
public struct Frame: Sendable, Hashable {
    /// The header.
    public var header: FrameHeader
    /// The payload.
    public var payload: ByteBuffer

    /// Creates a frame; the header's payload length is set from `payload`.
    public init(
        type: FrameType,
        method: MethodID = MethodID(rawValue: 0),
        correlationID: UInt32,
        deadlineMilliseconds: UInt32 = 0,
        payload: ByteBuffer
    ) {
        self.header = FrameHeader(
            type: type,
            method: method,
            correlationID: correlationID,
            deadlineMilliseconds: deadlineMilliseconds,
            payloadLength: UInt32(payload.readableBytes)
        )
        self.payload = payload
    }

    /// Creates a frame from a decoded header and its payload.
    public init(header: FrameHeader, payload: ByteBuffer) {
        self.header = header
        self.payload = payload
    }
}
