import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Prometheus
import ServiceLifecycle
import SimverifyCore
import SimverifyPKI
import Synchronization

/// The operator listener answering `GET /metrics` with the registry in Prometheus's text format,
/// after `refresh` has sampled the gauges. Anything else is 404; each answer closes its
/// connection. Run as a `Service` beside the RPC server.
///
/// Plain HTTP on loopback by default. With `mutualTLS` it speaks HTTPS with the RPC server's own
/// certificate, asks every scraper for a certificate issued by the clients' CA, and answers only a
/// certificate of the operator role (403 for any other role): metrics then travel off the machine
/// without a carrier's terminal, backend or a regulator reading the operator's figures.
public final class OperatorServer: Service, Sendable {
    private let host: String
    private let port: Int
    private let registry: PrometheusCollectorRegistry
    private let refresh: @Sendable () async -> Void
    private let tls: NIOSSLContext?
    private let group: any EventLoopGroup
    private let logger: Logger
    private let boundPort = BoundPort()
    private let idleTimeout: TimeAmount

    /// Creates the listener; nothing listens until `run()`.
    /// - Parameter mutualTLS: The server's certificate, key and the clients' CA, for HTTPS
    ///   answering only the operator role; nil for plain HTTP.
    ///   `idleTimeout`: a scraper silent this long is closed (not while its answer is being made).
    /// - Throws: `SimverifyError` when the TLS files cannot be loaded.
    public init(
        host: String,
        port: Int,
        registry: PrometheusCollectorRegistry,
        logger: Logger,
        mutualTLS: ServerConfiguration.TLSFiles? = nil,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        idleTimeout: TimeAmount = .seconds(10),
        refresh: @escaping @Sendable () async -> Void = {}
    ) throws {
        self.idleTimeout = idleTimeout
        self.host = host
        self.port = port
        self.registry = registry
        self.refresh = refresh
        self.tls = try mutualTLS.map { try RPCServer.makeTLSContext($0) }
        self.group = group
        self.logger = logger
    }

    /// The port it listens on, once it does (useful with port 0).
    public func waitUntilListening() async -> Int? {
        await self.boundPort.wait()
    }

    public func run() async throws {
        let registry = self.registry
        let refresh = self.refresh
        let tls = self.tls
        let idleTimeout = self.idleTimeout
        let channel = try await ServerBootstrap(group: self.group)
            .serverChannelOption(.backlog, value: 16)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    // A scraper that connects and says nothing (or never finishes a handshake) is closed.
                    try sync.addHandler(IdleStateHandler(allTimeout: idleTimeout))
                    if let tls { try sync.addHandler(NIOSSLServerHandler(context: tls)) }
                    try sync.configureHTTPServerPipeline(withErrorHandling: true)
                    try sync.addHandler(
                        MetricsHTTPHandler(registry: registry, refresh: refresh, operatorOnly: tls != nil)
                    )
                }
            }
            .bind(host: self.host, port: self.port).get()
        let port = channel.localAddress?.port ?? self.port
        self.boundPort.bound(port)
        self.logger.info(
            "operator listener",
            metadata: [
                "host": "\(self.host)", "port": "\(port)", "path": "/metrics",
                "transport": "\(self.tls == nil ? "http" : "https, operator role")",
            ]
        )
        await serveUntilShutdown(channel)
    }
}

/// Answers one request per connection: `GET /metrics`, or 404; 403 when `operatorOnly` and the
/// peer's certificate is not of the operator role.
final class MetricsHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let registry: PrometheusCollectorRegistry
    private let refresh: @Sendable () async -> Void
    private let operatorOnly: Bool
    private var head: HTTPRequestHead?
    /// A request is complete and its answer is being made (the gauges sampled, the registry
    /// rendered, on the concurrency pool): the connection is busy, not idle.
    private var answering = false

    init(registry: PrometheusCollectorRegistry, refresh: @escaping @Sendable () async -> Void, operatorOnly: Bool) {
        self.registry = registry
        self.refresh = refresh
        self.operatorOnly = operatorOnly
    }

    /// Whether the TLS peer presented a certificate naming the operator role.
    private func peerIsOperator(context: ChannelHandlerContext) -> Bool {
        guard let certificate = try? context.pipeline.syncOperations.nioSSL_peerCertificate(),
            let der = try? certificate.toDERBytes(),
            let caller = try? CallerIdentity(derEncodedCertificate: der)
        else { return false }
        return caller.role == .operator
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
        case .body:
            break  // a body is read and dropped: nothing here takes one
        case .end:
            guard let head = self.head else { return }
            self.head = nil
            if self.operatorOnly, !self.peerIsOperator(context: context) {
                return self.respond(
                    context: context,
                    status: .forbidden,
                    body: Array("the operator role is required\n".utf8)
                )
            }
            guard head.method == .GET, head.uri == "/metrics" || head.uri.hasPrefix("/metrics?") else {
                return self.respond(context: context, status: .notFound, body: Array("not found\n".utf8))
            }
            let registry = self.registry
            let refresh = self.refresh
            self.answering = true
            let promise = context.eventLoop.makePromise(of: [UInt8].self)
            promise.completeWithTask {
                await refresh()
                return registry.emitToBuffer()
            }
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            promise.futureResult.whenSuccess { body in
                let (handler, context) = bound.value
                handler.respond(context: context, status: .ok, body: body, type: "text/plain; version=0.0.4")
            }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // A silent scraper is closed; one waiting for its answer is not (under a busy
        // concurrency pool the answer can take longer than the idle time: an empty reply then
        // failed a scrape, seen once in a full test run).
        if event is IdleStateHandler.IdleStateEvent, !self.answering { context.close(promise: nil) }
        context.fireUserInboundEventTriggered(event)
    }

    private func respond(
        context: ChannelHandlerContext,
        status: HTTPResponseStatus,
        body: [UInt8],
        type: String = "text/plain"
    ) {
        let headers = HTTPHeaders([
            ("content-type", type), ("content-length", "\(body.count)"), ("connection", "close"),
        ])
        context.write(
            Self.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))),
            promise: nil
        )
        context.write(Self.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
        context.writeAndFlush(Self.wrapOutboundOut(.end(nil))).whenComplete { _ in context.close(promise: nil) }
    }
}
