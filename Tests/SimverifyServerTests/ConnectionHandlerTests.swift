import Foundation
import Logging
import NIOCore
import NIOEmbedded
import SimverifyAudit
import SimverifyAuditLog
import SimverifyCore
import SimverifyProto
import SimverifyWire
import Testing

@testable import SimverifyServer

/// The connection handlers on EmbeddedChannel, with a mock clock.
@Suite("Connection handlers")
struct ConnectionHandlerTests {
    final class ErrorRecorder: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        var errors: [any Error] = []
        func errorCaught(context: ChannelHandlerContext, error: any Error) { self.errors.append(error) }
    }

    static func frameBytes(_ header: FrameHeader, payload: Int) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeFrameHeader(header)
        buffer.writeBytes(Array(repeating: 0x01, count: payload))
        return buffer
    }

    @Test func deadlineHandlerClosesAStalledFrame() throws {
        let recorder = ErrorRecorder()
        let channel = EmbeddedChannel(handlers: [
            FrameDeadlineHandler(base: .seconds(2), minimumBytesPerSecond: 1000), recorder,
        ])
        var bytes = Self.frameBytes(
            FrameHeader(type: .request, method: .verify, correlationID: 1, payloadLength: 3000),
            payload: 3000
        )
        try channel.writeInbound(bytes.readSlice(length: 10)!)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1900))
        #expect(recorder.errors.isEmpty)
        try channel.writeInbound(bytes.readSlice(length: 100)!)  // header complete: 2 s + 3000 B at 1000 B/s
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(2900))
        #expect(recorder.errors.isEmpty)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(200))
        #expect(recorder.errors.count == 1 && (recorder.errors.first as? FrameError) == FrameError(.frameTimeout))
        _ = try? channel.finish()
    }

    @Test func deadlineHandlerForgetsCompletedFramesAndPassesBytesThrough() throws {
        let recorder = ErrorRecorder()
        let channel = EmbeddedChannel(handlers: [
            FrameDeadlineHandler(base: .seconds(1), minimumBytesPerSecond: 1000), recorder,
        ])
        var two = Self.frameBytes(
            FrameHeader(type: .request, method: .health, correlationID: 1, payloadLength: 5),
            payload: 5
        )
        two.writeImmutableBuffer(
            Self.frameBytes(FrameHeader(type: .ping, correlationID: 2, payloadLength: 8), payload: 8)
        )
        let total = two.readableBytes
        for byte in two.readableBytesView { try channel.writeInbound(ByteBuffer(bytes: [byte])) }
        channel.embeddedEventLoop.advanceTime(by: .seconds(60))
        #expect(recorder.errors.isEmpty)
        var passed = 0
        while let chunk = try channel.readInbound(as: ByteBuffer.self) { passed += chunk.readableBytes }
        #expect(passed == total)
        _ = try? channel.finish()
    }

    func makeChannel(
        caller: CallerIdentity?,
        limits: ServerConfiguration.ConnectionLimits = .init()
    ) async throws -> EmbeddedChannel {
        // The stand-in engine and an in-memory log: the connection's behaviour needs no model.
        let service = try VerificationService.standIn()
        let channel = EmbeddedChannel(
            handler: RPCConnectionHandler(
                service: service,
                limits: limits,
                logger: Logger(label: "test"),
                caller: caller
            )
        )
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 7443)).wait()
        #expect(channel.isActive)
        return channel
    }

    func status(_ frame: Frame?) -> Simverify_V1_Status? {
        frame.flatMap { try? Simverify_V1_Status(serializedBytes: Array($0.payload.readableBytesView)) }
    }

    @Test func aRequestBeforeAuthenticationEndsTheConnection() async throws {
        let channel = try await self.makeChannel(caller: nil)
        try channel.writeInbound(Frame(type: .request, method: .health, correlationID: 1, payload: ByteBuffer()))
        let goaway = try channel.readOutbound(as: Frame.self)
        #expect(goaway?.header.type == .goaway && self.status(goaway)?.code == .unauthenticated)
        #expect(!channel.isActive)
    }

    @Test func pingIsAnsweredAndARoleIsCheckedBeforeAnyWork() async throws {
        let channel = try await self.makeChannel(caller: try CallerIdentity(tenant: "kcc", role: .regulator))
        try channel.writeInbound(
            Frame(type: .ping, correlationID: 9, payload: ByteBuffer(bytes: [8, 7, 6, 5, 4, 3, 2, 1]))
        )
        let pong = try channel.readOutbound(as: Frame.self)
        #expect(pong?.header.type == .pong && pong?.header.correlationID == 9)
        #expect(pong.map { Array($0.payload.readableBytesView) } == [8, 7, 6, 5, 4, 3, 2, 1])
        try channel.writeInbound(Frame(type: .request, method: .verify, correlationID: 3, payload: ByteBuffer()))
        let refused = try channel.readOutbound(as: Frame.self)
        #expect(refused?.header.type == .error && refused?.header.correlationID == 3)
        #expect(self.status(refused)?.code == .permissionDenied)
        #expect(channel.isActive)
        _ = try? channel.finish()
    }

    @Test func aResponseFromTheClientIsAProtocolError() async throws {
        let channel = try await self.makeChannel(caller: try CallerIdentity(tenant: "carrier-a", role: .backend))
        try channel.writeInbound(Frame(type: .response, method: .health, correlationID: 1, payload: ByteBuffer()))
        let goaway = try channel.readOutbound(as: Frame.self)
        #expect(goaway?.header.type == .goaway && self.status(goaway)?.reason == "unexpected_frame")
        #expect(!channel.isActive)
    }

    @Test func drainAndIdleEventsCloseAnIdleConnectionWithAGoaway() async throws {
        let counter = try CallerIdentity(tenant: "carrier-a", role: .counter, terminal: "t1")
        let draining = try await self.makeChannel(caller: counter)
        draining.pipeline.fireUserInboundEventTriggered(ServerConnectionEvent.drain)
        let goaway = try draining.readOutbound(as: Frame.self)
        #expect(self.status(goaway)?.reason == "shutting_down" && !draining.isActive)

        let idle = try await self.makeChannel(caller: counter)
        idle.pipeline.fireUserInboundEventTriggered(IdleStateHandler.IdleStateEvent.all)
        #expect(self.status(try idle.readOutbound(as: Frame.self))?.reason == "idle" && !idle.isActive)
    }
}
