import NIOCore

/// Splits a byte stream into frames. The header is validated (magic, version, type, flags,
/// method, and length against `FrameLimits`) as soon as its 20 bytes are there, before any
/// payload byte is waited for; a bad header throws at once.
public struct FrameDecoder: ByteToMessageDecoder, Sendable {
    public typealias InboundOut = Frame

    /// The limits checked against each header.
    public let limits: FrameLimits
    private var pending: FrameHeader?

    /// Creates a decoder.
    public init(limits: FrameLimits = .standard) {
        self.limits = limits
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = try self.decodeFrame(from: &buffer) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(frame))
        return .continue
    }

    public mutating func decodeLast(
        context: ChannelHandlerContext,
        buffer: inout ByteBuffer,
        seenEOF: Bool
    ) throws -> DecodingState {
        while let frame = try self.decodeFrame(from: &buffer) {
            context.fireChannelRead(Self.wrapInboundOut(frame))
        }
        return .needMoreData
    }

    /// Decodes one frame if it is complete.
    /// - Throws: `FrameError` when the header is bad; the stream cannot be resynchronised after it.
    public mutating func decodeFrame(from buffer: inout ByteBuffer) throws(FrameError) -> Frame? {
        if self.pending == nil {
            guard let header = try buffer.peekFrameHeader() else { return nil }
            try self.limits.validate(header)
            buffer.moveReaderIndex(forwardBy: FrameHeader.size)
            self.pending = header
        }
        guard let header = self.pending, let payload = buffer.readSlice(length: Int(header.payloadLength)) else {
            return nil
        }
        self.pending = nil
        return Frame(header: header, payload: payload)
    }
}

/// Writes frames: header, then payload.
public struct FrameEncoder: MessageToByteEncoder, Sendable {
    public typealias OutboundIn = Frame

    /// Creates an encoder.
    public init() {}

    public func encode(data: Frame, out: inout ByteBuffer) {
        var header = data.header
        header.payloadLength = UInt32(data.payload.readableBytes)
        out.reserveCapacity(FrameHeader.size + data.payload.readableBytes)
        out.writeFrameHeader(header)
        out.writeImmutableBuffer(data.payload)
    }
}

/// Frame to bytes for a long-lived client: each frame is written into a buffer of its own, which
/// is released once the socket has taken it. `MessageToByteHandler(FrameEncoder())` keeps one
/// output buffer per connection and reuses it, so the last request (a Verify's images) stays in
/// the process as long as the connection does: the counter agent's privacy canary found it there.
public final class FrameWriter: ChannelOutboundHandler, Sendable {
    public typealias OutboundIn = Frame
    public typealias OutboundOut = ByteBuffer

    /// Creates a writer.
    public init() {}

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let frame = Self.unwrapOutboundIn(data)
        var bytes = context.channel.allocator.buffer(capacity: FrameHeader.size + frame.payload.readableBytes)
        FrameEncoder().encode(data: frame, out: &bytes)
        context.write(Self.wrapOutboundOut(bytes), promise: promise)
    }
}
