import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import SimverifyClient
import SimverifyProto
import SimverifyWire
import Synchronization

/// A TLS connection that writes raw bytes and collects the frames the server sends back, for
/// tests of malformed input.
final class RawConnection: Sendable {
    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = Frame
        let frames = Mutex<[Frame]>([])
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let frame = Self.unwrapInboundIn(data)
            self.frames.withLock { $0.append(frame) }
        }
        func errorCaught(context: ChannelHandlerContext, error: Error) {
            context.close(promise: nil)
        }
    }

    let channel: any Channel
    private let collector: Collector

    private init(channel: any Channel, collector: Collector) {
        self.channel = channel
        self.collector = collector
    }

    static func connect(_ configuration: ClientConfiguration, port: Int) async throws -> RawConnection {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        tls.certificateChain = try NIOSSLCertificate.fromPEMFile(configuration.certificate).map { .certificate($0) }
        tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: configuration.privateKey, format: .pem))
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(configuration.trustRoots))
        let context = try NIOSSLContext(configuration: tls)
        let collector = Collector()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        NIOSSLClientHandler(context: context, serverHostname: "localhost")
                    )
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(collector)
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return RawConnection(channel: channel, collector: collector)
    }

    func send(_ bytes: ByteBuffer) async throws {
        try await self.channel.writeAndFlush(bytes)
    }

    func send(_ frame: Frame) async throws {
        var buffer = ByteBuffer()
        buffer.writeFrameHeader(frame.header)
        buffer.writeImmutableBuffer(frame.payload)
        try await self.send(buffer)
    }

    var frames: [Frame] { self.collector.frames.withLock { $0 } }

    /// Waits up to `seconds` for a frame matching `predicate`.
    func frame(within seconds: Double = 5, where predicate: (Frame) -> Bool) async -> Frame? {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if let match = self.frames.first(where: predicate) { return match }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return self.frames.first(where: predicate)
    }

    /// Waits up to `seconds` for the server to close the connection.
    func closed(within seconds: Double) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if !self.channel.isActive { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return !self.channel.isActive
    }

    func close() async { try? await self.channel.close() }

    static func status(of frame: Frame) -> Simverify_V1_Status? {
        try? Simverify_V1_Status(serializedBytes: Array(frame.payload.readableBytesView))
    }
}
