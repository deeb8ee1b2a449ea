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
/// (up to `drainSeconds`), then closes. Its state is a `ServerStateMachine` behind a lock.
public final class RPCServer: Service, Sendable {
    private let configuration: ServerConfiguration
    private let service: VerificationService
    private let tls: NIOSSLContext
    private let group: any EventLoopGroup
    private let logger: Logger
    private let state: Mutex<ServerStateMachine<ObjectIdentifier, any Channel>>
    /// Finishes when the last connection of a drain has closed.
    private let drained = AsyncStream<Void>.makeStream()
    private let perCaller: ConnectionsPerCaller
    private let boundPort = BoundPort()

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
        self.state = Mutex(ServerStateMachine(maxConnections: configuration.limits.maxConnections))
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
        await self.boundPort.wait()
    }

    /// Connections open now.
    public var connectionCount: Int { self.state.withLock { $0.connectionCount } }

    public func run() async throws {
        let limits = self.configuration.limits
        let channel: any Channel
        do {
            channel = try await ServerBootstrap(group: self.group)
                .serverChannelOption(.backlog, value: 256)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { [self] channel in
                    channel.eventLoop.makeCompletedFuture { try self.initialize(channel) }
                }
                .bind(host: self.configuration.host, port: self.configuration.port).get()
        } catch {
            self.state.withLock { $0.failedToStart() }
            throw error
        }
        self.state.withLock { $0.listening() }
        let port = channel.localAddress?.port ?? self.configuration.port
        self.boundPort.bound(port)
        self.logger.info("listening", metadata: ["host": "\(self.configuration.host)", "port": "\(port)"])

        await serveUntilShutdown(channel)
        // Drain: goaway to everyone, wait until the last one closes or the deadline, then close
        // what is left.
        let shutdown = self.state.withLock { $0.shutdownRequested() }
        self.logger.info("draining", metadata: ["connections": "\(shutdown.drain.count)"])
        if shutdown.stopped { self.drained.continuation.finish() }
        for connection in shutdown.drain {
            connection.pipeline.fireUserInboundEventTriggered(ServerConnectionEvent.drain)
        }
        let drained = self.drained.stream
        await withTaskGroup(of: Void.self) { group in
            group.addTask { for await _ in drained {} }
            group.addTask { try? await Task.sleep(for: .seconds(limits.drainSeconds)) }
            await group.next()
            group.cancelAll()
        }
        for connection in self.state.withLock({ $0.drainDeadlinePassed() }) {
            try? await connection.close()
        }
        self.logger.info("stopped")
    }

    private func initialize(_ channel: any Channel) throws {
        let limits = self.configuration.limits
        let id = ObjectIdentifier(channel)
        let accepted = self.state.withLock { $0.connectionOpened(id, channel) }
        guard accepted else {
            self.service.metrics.limited("max_connections")
            self.logger.notice(
                "connection refused: limit reached",
                metadata: ["max_connections": "\(limits.maxConnections)"]
            )
            channel.close(promise: nil)
            return
        }
        channel.closeFuture.whenComplete { [self] _ in
            if self.state.withLock({ $0.connectionClosed(id) }) == .drained {
                self.drained.continuation.finish()
            }
        }
        var logger = self.logger
        logger[metadataKey: "peer"] = "\(channel.remoteAddress?.description ?? "?")"
        let sync = channel.pipeline.syncOperations
        try sync.addHandler(NIOSSLServerHandler(context: self.tls))
        // After the TLS handler: the handshake-completed event travels towards the tail.
        let metrics = self.service.metrics
        try sync.addHandler(
            HandshakeTimeoutHandler(timeout: .fromSeconds(limits.handshakeTimeoutSeconds)) {
                metrics.handshakeFailed("timeout")
            }
        )
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
