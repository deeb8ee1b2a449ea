import Logging
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle
import SimverifyCore
import SimverifyFaceEngine
import SimverifyWire
import Synchronization

/// The mutual-TLS RPC server, run as a `Service` under a `ServiceGroup`: on graceful shutdown
/// (SIGTERM) it stops accepting, sends every connection a goaway, lets in-flight calls finish
/// (up to `drainSeconds`), then closes.
public final class RPCServer: Service, Sendable {
    private let configuration: ServerConfiguration
    private let service: VerificationService
    private let tls: NIOSSLContext
    private let group: any EventLoopGroup
    private let logger: Logger
    private let connections = Mutex<[ObjectIdentifier: any Channel]>([:])
    private let perCaller: ConnectionsPerCaller
    private let boundPort = Mutex<Int?>(nil)
    private let ready = AsyncStream<Int>.makeStream()

    /// Creates a server; nothing listens until `run()`.
    /// - Throws: `SimverifyError` when a certificate or key file cannot be loaded.
    public init(
        configuration: ServerConfiguration,
        service: VerificationService,
        logger: Logger,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) throws {
        self.configuration = configuration
        self.service = service
        self.logger = logger
        self.group = group
        self.tls = try Self.makeTLSContext(configuration.tls)
        self.perCaller = ConnectionsPerCaller(limit: configuration.limits.maxConnectionsPerCertificate)
    }

    /// The TLS 1.2+ mutual-TLS context: clients must present a certificate issued by `clientCA`.
    static func makeTLSContext(_ files: ServerConfiguration.TLSFiles) throws -> NIOSSLContext {
        do {
            var tls = TLSConfiguration.makeServerConfigurationWithMTLS(
                certificateChain: try NIOSSLCertificate.fromPEMFile(files.certificate).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: files.privateKey, format: .pem)),
                trustRoots: .certificates(try NIOSSLCertificate.fromPEMFile(files.clientCA))
            )
            tls.minimumTLSVersion = .tlsv12
            tls.certificateVerification = .noHostnameVerification
            return try NIOSSLContext(configuration: tls)
        } catch {
            throw SimverifyError(
                .fileUnreadable,
                "cannot load the TLS files (\(files.certificate), \(files.privateKey), \(files.clientCA)): run scripts/dev-certs.sh or fix the configuration"
            )
        }
    }

    /// The port the server listens on, once it does (useful with port 0).
    public func waitUntilListening() async -> Int? {
        if let port = self.boundPort.withLock({ $0 }) { return port }
        for await port in self.ready.stream { return port }
        return self.boundPort.withLock { $0 }
    }

    /// Connections open now.
    public var connectionCount: Int { self.connections.withLock { $0.count } }

    public func run() async throws {
        let limits = self.configuration.limits
        let channel = try await ServerBootstrap(group: self.group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture { try self.initialize(channel) }
            }
            .bind(host: self.configuration.host, port: self.configuration.port).get()
        let port = channel.localAddress?.port ?? self.configuration.port
        self.boundPort.withLock { $0 = port }
        self.ready.continuation.yield(port)
        self.ready.continuation.finish()
        self.logger.info("listening", metadata: ["host": "\(self.configuration.host)", "port": "\(port)"])

        await withGracefulShutdownHandler {
            try? await channel.closeFuture.get()
        } onGracefulShutdown: {
            channel.close(promise: nil)
        }
        // Drain: goaway to everyone, wait for in-flight calls, then close what is left.
        let open = self.connections.withLock { Array($0.values) }
        self.logger.info("draining", metadata: ["connections": "\(open.count)"])
        for connection in open {
            connection.pipeline.fireUserInboundEventTriggered(ServerConnectionEvent.drain)
        }
        let deadline = ContinuousClock.now + .seconds(limits.drainSeconds)
        while self.connectionCount > 0 && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        for connection in self.connections.withLock({ Array($0.values) }) {
            try? await connection.close()
        }
        self.logger.info("stopped")
    }

    private func initialize(_ channel: any Channel) throws {
        let limits = self.configuration.limits
        let id = ObjectIdentifier(channel)
        let accepted = self.connections.withLock { open -> Bool in
            guard open.count < limits.maxConnections else { return false }
            open[id] = channel
            return true
        }
        guard accepted else {
            self.logger.notice(
                "connection refused: limit reached",
                metadata: ["max_connections": "\(limits.maxConnections)"]
            )
            channel.close(promise: nil)
            return
        }
        channel.closeFuture.whenComplete { [self] _ in
            _ = self.connections.withLock { $0.removeValue(forKey: id) }
        }
        var logger = self.logger
        logger[metadataKey: "peer"] = "\(channel.remoteAddress?.description ?? "?")"
        let sync = channel.pipeline.syncOperations
        try sync.addHandler(NIOSSLServerHandler(context: self.tls))
        // After the TLS handler: the handshake-completed event travels towards the tail.
        try sync.addHandler(HandshakeTimeoutHandler(timeout: .fromSeconds(limits.handshakeTimeoutSeconds)))
        try sync.addHandler(
            IdleStateHandler(allTimeout: .fromSeconds(limits.idleTimeoutSeconds))
        )
        try sync.addHandler(
            FrameDeadlineHandler(
                base: .fromSeconds(limits.frameTimeoutSeconds),
                minimumBytesPerSecond: limits.minimumBytesPerSecond
            )
        )
        try sync.addHandler(ByteToMessageHandler(FrameDecoder(limits: .standard)))
        try sync.addHandler(MessageToByteHandler(FrameEncoder()))
        try sync.addHandler(
            RPCConnectionHandler(service: self.service, limits: limits, logger: logger, perCaller: self.perCaller)
        )
    }
}

extension TimeAmount {
    static func fromSeconds(_ value: Double) -> TimeAmount {
        .nanoseconds(Int64(value * 1e9))
    }
}
