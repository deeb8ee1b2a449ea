import NIOCore
import NIOEmbedded
import NIOTestUtils
import SimverifyWire
import Testing

@Suite("Frame codec")
struct FrameCodecTests {
    /// A frame; pings, pongs and goaways carry no method id, and only requests a deadline.
    static func frame(_ type: FrameType, _ method: MethodID = .health, id: UInt32 = 1, payload: [UInt8] = []) -> Frame {
        let control = type == .ping || type == .pong || type == .goaway
        return Frame(
            type: type,
            method: control ? MethodID(rawValue: 0) : method,
            correlationID: id,
            deadlineMilliseconds: type == .request ? 1500 : 0,
            payload: ByteBuffer(bytes: payload)
        )
    }

    static func encoded(_ frames: [Frame]) -> ByteBuffer {
        var buffer = ByteBuffer()
        for frame in frames {
            buffer.writeFrameHeader(frame.header)
            buffer.writeImmutableBuffer(frame.payload)
        }
        return buffer
    }

    @Test func headerIsTwentyBytesBigEndian() throws {
        var buffer = ByteBuffer()
        let header = FrameHeader(
            type: .request,
            method: .verify,
            correlationID: 0x0102_0304,
            deadlineMilliseconds: 0x0A0B_0C0D,
            payloadLength: 0x10
        )
        #expect(buffer.writeFrameHeader(header) == 20)
        #expect(
            Array(buffer.readableBytesView) == [
                0x53, 0x56, 1, 1, 0, 0, 0, 3, 1, 2, 3, 4, 0x0A, 0x0B, 0x0C, 0x0D, 0, 0, 0, 0x10,
            ]
        )
        #expect(try buffer.readFrameHeader() == header)
    }

    @Test func roundTripsThroughTheVerifier() throws {
        let frames = [
            Self.frame(.request, .health, id: 1),
            Self.frame(.request, .verify, id: 2, payload: Array(repeating: 0xAB, count: 3000)),
            Self.frame(.ping, id: 3, payload: [1, 2, 3, 4, 5, 6, 7, 8]),
            Self.frame(.cancel, .verify, id: 2),
            Self.frame(.response, .health, id: 1, payload: [9, 9]),
            Self.frame(.goaway, id: 0, payload: Array("bye".utf8)),
        ]
        let pairs = frames.map { (Self.encoded([$0]), [$0]) }
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: pairs) { FrameDecoder() }
    }

    @Test func encoderWritesWhatTheDecoderReads() throws {
        var out = ByteBuffer()
        let frame = Self.frame(.request, .startSession, id: 77, payload: [1, 2, 3])
        FrameEncoder().encode(data: frame, out: &out)
        var decoder = FrameDecoder()
        #expect(try decoder.decodeFrame(from: &out) == frame)
        #expect(out.readableBytes == 0)
    }

    /// The client's writer writes the encoder's bytes. That it keeps no buffer (MessageToByteHandler
    /// kept the last Verify's images for the connection's life) is what the counter agent's
    /// privacy canary checks, in scripts/counter-in-browser.py: it found them before the writer.
    @Test func frameWriterWritesWhatTheEncoderWrites() throws {
        let channel = EmbeddedChannel(handler: FrameWriter())
        let frames = [
            Self.frame(.request, .verify, id: 3, payload: Array(repeating: 0xAB, count: 70_000)),
            Self.frame(.request, .startSession, id: 5, payload: [9]),
        ]
        var written: [ByteBuffer] = []
        for frame in frames {
            try channel.writeOutbound(frame)
            written.append(try #require(try channel.readOutbound(as: ByteBuffer.self)))
        }
        #expect(written == frames.map { Self.encoded([$0]) })
        var decoder = FrameDecoder()
        var first = written[0]
        #expect(try decoder.decodeFrame(from: &first) == frames[0])
        #expect(try channel.finish().isClean)
    }

    static func header(
        patch offset: Int,
        _ value: UInt8,
        base: FrameHeader = FrameHeader(type: .request, method: .health, correlationID: 1, payloadLength: 0)
    ) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeFrameHeader(base)
        buffer.setInteger(value, at: offset)
        return buffer
    }

    @Test(arguments: [
        (0, 0x47, FrameError.Code.badMagic), (1, 0x00, .badMagic), (2, 2, .unsupportedVersion),
        (2, 0, .unsupportedVersion),
        (3, 0, .unknownFrameType), (3, 8, .unknownFrameType), (4, 1, .reservedBitsSet), (5, 0x80, .reservedBitsSet),
        (7, 99, .unknownMethod),
    ])
    func badHeadersAreRefused(offset: Int, value: UInt8, code: FrameError.Code) {
        var buffer = Self.header(patch: offset, value)
        var decoder = FrameDecoder()
        #expect(throws: FrameError(code)) { try decoder.decodeFrame(from: &buffer) }
    }

    @Test func anOversizedPayloadIsRefusedFromTheHeaderAlone() {
        for (method, limit) in FrameLimits.standard.requestPayload {
            var buffer = ByteBuffer()
            buffer.writeFrameHeader(
                FrameHeader(type: .request, method: method, correlationID: 1, payloadLength: UInt32(limit + 1))
            )
            // No payload byte follows: the decoder must not wait for it.
            var decoder = FrameDecoder()
            #expect(throws: FrameError(.payloadTooLarge)) { try decoder.decodeFrame(from: &buffer) }
            var ok = ByteBuffer()
            ok.writeFrameHeader(
                FrameHeader(type: .request, method: method, correlationID: 1, payloadLength: UInt32(limit))
            )
            var fresh = FrameDecoder()
            #expect((try? fresh.decodeFrame(from: &ok)) == .some(nil))  // valid header, waits for the payload
        }
        var ping = ByteBuffer()
        ping.writeFrameHeader(FrameHeader(type: .ping, correlationID: 1, payloadLength: 9))
        var decoder = FrameDecoder()
        #expect(throws: FrameError(.payloadTooLarge)) { try decoder.decodeFrame(from: &ping) }
    }

    @Test func controlFramesKeepTheirRules() {
        let limits = FrameLimits.standard
        func code(_ header: FrameHeader) -> FrameError.Code? {
            do { try limits.validate(header) } catch { return error.code }
            return nil
        }
        #expect(code(FrameHeader(type: .ping, correlationID: 1, payloadLength: 8)) == nil)
        #expect(code(FrameHeader(type: .ping, correlationID: 1, payloadLength: 4)) == .badControlFrame)
        #expect(code(FrameHeader(type: .pong, correlationID: 1, payloadLength: 0)) == .badControlFrame)
        #expect(code(FrameHeader(type: .ping, correlationID: 1, payloadLength: 9)) == .payloadTooLarge)
        #expect(code(FrameHeader(type: .ping, method: .health, correlationID: 1, payloadLength: 8)) == .badControlFrame)
        #expect(
            code(FrameHeader(type: .ping, correlationID: 1, deadlineMilliseconds: 5, payloadLength: 8))
                == .badControlFrame
        )
        #expect(
            code(FrameHeader(type: .goaway, method: .verify, correlationID: 0, payloadLength: 2)) == .badControlFrame
        )
        #expect(code(FrameHeader(type: .goaway, correlationID: 0, payloadLength: 2)) == nil)
        #expect(code(FrameHeader(type: .cancel, correlationID: 1, payloadLength: 0)) == nil)
        #expect(code(FrameHeader(type: .cancel, method: .verify, correlationID: 1, payloadLength: 0)) == nil)
        #expect(
            code(FrameHeader(type: .cancel, method: MethodID(rawValue: 99), correlationID: 1, payloadLength: 0))
                == .unknownMethod
        )
        #expect(
            code(FrameHeader(type: .cancel, correlationID: 1, deadlineMilliseconds: 1, payloadLength: 0))
                == .badControlFrame
        )
        #expect(
            code(
                FrameHeader(type: .error, method: .verify, correlationID: 1, deadlineMilliseconds: 1, payloadLength: 2)
            ) == .badControlFrame
        )
        #expect(
            code(
                FrameHeader(
                    type: .request,
                    method: .verify,
                    correlationID: 1,
                    deadlineMilliseconds: 1,
                    payloadLength: 2
                )
            ) == nil
        )
        #expect(
            FrameError(.badControlFrame).status.code == .invalidArgument
                && FrameError(.badControlFrame).status.reason == "bad_control_frame"
        )
    }

    @Test func aPartialHeaderWaits() throws {
        var buffer = Self.encoded([Self.frame(.request, .health)])
        var partial = buffer.readSlice(length: 19)!
        var decoder = FrameDecoder()
        #expect(try decoder.decodeFrame(from: &partial) == nil)
        #expect(partial.readableBytes == 19)
    }

    @Test func frameErrorsMapToStatuses() {
        #expect(FrameError(.unknownMethod).status.code == .unimplemented)
        #expect(FrameError(.payloadTooLarge).status.code == .resourceExhausted)
        #expect(FrameError(.frameTimeout).status.code == .deadlineExceeded)
        #expect(FrameError(.badMagic).status.code == .invalidArgument)
        #expect(FrameError(.badMagic).status.reason == "bad_magic")
    }
}
