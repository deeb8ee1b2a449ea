import CSimverifyJPEGTestSupport
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle
import SimverifyAudit
import SimverifyAuditLog
import SimverifyClient
import SimverifyCore
import SimverifyFaceEngine
import SimverifyLiveness
import SimverifyPKI
import SimverifyServer
import SimverifyWire
import Synchronization

enum Paths {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path
    static let shared: String = {
        if let explicit = ProcessInfo.processInfo.environment["SIMVERIFY_SHARED"], !explicit.isEmpty { return explicit }
        return URL(fileURLWithPath: repository).deletingLastPathComponent().appendingPathComponent("shared").path
    }()
    static func face(_ name: String) -> String { shared + "/fixtures/faces/images/" + name }
    /// The ID cards scripts/make-id-cards.sh writes (scripts/test.sh runs it first).
    static let idCards: String =
        ProcessInfo.processInfo.environment["SIMVERIFY_ID_CARDS"].flatMap { $0.isEmpty ? nil : $0 }
        ?? FileManager.default.homeDirectoryForCurrentUser.path + "/.cache/simverify/id-cards"
    /// The bursts scripts/make-liveness-sequences.sh writes (scripts/test.sh runs it first).
    static let sequences: String =
        ProcessInfo.processInfo.environment["SIMVERIFY_LIVENESS_SEQUENCES"].flatMap { $0.isEmpty ? nil : $0 }
        ?? FileManager.default.homeDirectoryForCurrentUser.path + "/.cache/simverify/liveness-sequences"
    /// The frames of one generated burst, in order.
    static func burst(_ name: String) throws -> [ZeroizingBuffer] {
        let folder = sequences + "/" + name
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".jpg") }.sorted()
        guard names.count >= 5 else {
            throw SimverifyError(.fileUnreadable, "\(folder): run scripts/make-liveness-sequences.sh")
        }
        return try names.map { try ZeroizingBuffer(contentsOfFile: folder + "/" + $0, maxBytes: 4 << 20) }
    }
}

/// A development PKI written to a temporary directory, with extra certificates for refusal tests.
final class TestPKI: Sendable {
    let directory: String
    /// The CA the server trusts.
    let trusted: DevelopmentPKI
    /// A CA the server does not trust.
    let untrusted: DevelopmentPKI

    init() throws {
        self.directory = FileManager.default.temporaryDirectory.appendingPathComponent("simverify-pki-\(UUID())").path
        self.trusted = try DevelopmentPKI()
        try self.trusted.write(to: self.directory)
        self.untrusted = try DevelopmentPKI(name: "someone else's CA")
    }

    func path(_ name: String) -> String { self.directory + "/" + name }

    func client(_ name: String) -> ClientConfiguration {
        ClientConfiguration(
            host: "127.0.0.1",
            port: 0,
            certificate: self.path("\(name).pem"),
            privateKey: self.path("\(name)-key.pem"),
            trustRoots: self.path("ca.pem")
        )
    }

    /// Writes an issued certificate and key; returns a client configuration using them.
    func write(_ issued: IssuedCertificate, as name: String) throws -> ClientConfiguration {
        try issued.certificatePEM().write(toFile: self.path("\(name).pem"), atomically: true, encoding: .utf8)
        try issued.privateKeyPEM().write(toFile: self.path("\(name)-key.pem"), atomically: true, encoding: .utf8)
        return self.client(name)
    }
}

/// What the service's audit store is made of the test server's log (a struct, so that a
/// trailing closure still means `adjust`).
struct AuditStoreWrapper {
    let wrap: (AuditLog) -> any AuditStore
}

/// A server on a free loopback port, run under a ServiceGroup like `simverify serve`.
final class TestServer: Sendable {
    static let sharedEngine: Result<FaceEngine, Error> = Result {
        var configuration = FaceEngineConfiguration()
        configuration.workers = 2
        configuration.maxQueuedJobs = 256
        return try FaceEngine(configuration: configuration, logger: Logger(label: "test"))
    }

    let pki: TestPKI
    let server: RPCServer
    /// The operator listener, when the server was made with `metrics: true`.
    let operatorServer: OperatorServer?
    let audit: AuditLog
    let auditKeys: AuditKeys
    let secrets: ServerSecrets
    let service: VerificationService
    let group: ServiceGroup
    let port: Int
    private let task: Task<Void, Error>

    /// Starts a server. `adjust` edits the configuration first.
    init(
        engine: FaceEngine? = nil,
        extraLivenessChecks: [any LivenessCheck] = [],
        auditStore: AuditStoreWrapper = AuditStoreWrapper { $0 },
        fixedTime: Date? = nil,
        metrics: Bool = false,
        adjust: (inout ServerConfiguration) -> Void = { _ in }
    ) async throws {
        self.pki = try TestPKI()
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.tls.certificate = self.pki.path("server.pem")
        configuration.tls.privateKey = self.pki.path("server-key.pem")
        configuration.tls.clientCA = self.pki.path("ca.pem")
        configuration.limits.drainSeconds = 10
        // Tests share tenants and terminals heavily; rate limits are tested on their own.
        configuration.limits.tenantCallsPerSecond = 0
        configuration.limits.terminalCallsPerSecond = 0
        configuration.limits.previewCallsPerSecond = 0
        configuration.limits.maxConnectionsPerCertificate = 64
        // Most suites exercise one-frame Verify, which a deployment must allow explicitly; the
        // shipped default (a session required) is tested on its own (LivenessEndToEndTests).
        configuration.policy.livenessRequired = false
        adjust(&configuration)
        var logger = Logger(label: "test-server")
        logger.logLevel = .warning
        let keysPath = self.pki.path("audit-keys.json")
        try ServerSecrets.writeDevelopmentKeys(to: keysPath, origin: "simverify.test/audit")
        self.auditKeys = try AuditKeys(contentsOf: keysPath)
        self.secrets = try ServerSecrets(contentsOf: keysPath)
        self.audit = try await AuditLog(
            configuration: .init(path: self.pki.path("audit.sqlite"), checkpointEveryEntries: 5),
            signer: self.auditKeys.signer,
            logger: logger
        )
        let (serviceMetrics, registry) = ServiceMetrics.prometheus()
        let service = VerificationService(
            engine: try engine ?? Self.sharedEngine.get(),
            policy: configuration.policy,
            audit: AuditTrail(log: auditStore.wrap(self.audit), keys: self.auditKeys, secrets: self.secrets),
            sessions: try SQLiteSessionStore(path: self.pki.path("sessions.sqlite")),
            limits: try .init(configuration.limits),
            logger: logger,
            extraLivenessChecks: extraLivenessChecks,
            clock: { fixedTime ?? Date() },
            metrics: metrics ? serviceMetrics : .none
        )
        self.service = service
        let server = try RPCServer(configuration: configuration, service: service, logger: logger)
        var services: [any Service] = [server]
        if metrics {
            let listener = try OperatorServer(
                host: "127.0.0.1",
                port: 0,
                registry: registry,
                logger: logger,
                mutualTLS: configuration.metrics.mutualTLS ? configuration.tls : nil
            ) { await service.refreshGauges() }
            services.append(listener)
            self.operatorServer = listener
        } else {
            self.operatorServer = nil
        }
        let group = ServiceGroup(services: services, logger: logger)
        self.server = server
        self.group = group
        self.task = Task { try await group.run() }
        guard let port = await server.waitUntilListening() else {
            throw RPCStatus(.unavailable, "server did not start")
        }
        self.port = port
    }

    func client(_ name: String = "counter-carrier-a-store-0001") async throws -> SimverifyClient {
        var configuration = self.pki.client(name)
        configuration.port = self.port
        return try await SimverifyClient.connect(configuration)
    }

    func connect(_ configuration: ClientConfiguration) async throws -> SimverifyClient {
        var configuration = configuration
        configuration.port = self.port
        return try await SimverifyClient.connect(configuration)
    }

    /// Graceful shutdown; returns when the server has stopped.
    func stop() async {
        await self.group.triggerGracefulShutdown()
        _ = try? await self.task.value
        await self.audit.close()
    }
}

enum TestJPEG {
    static func bytes(_ path: String) throws -> ZeroizingBuffer {
        try ZeroizingBuffer(contentsOfFile: path, maxBytes: 64 << 20)
    }

    static func encode(_ image: RGBImage) throws -> ZeroizingBuffer {
        var out: UnsafeMutablePointer<UInt8>?
        var size = 0
        let status = image.pixels.withUnsafeBytes { pixels in
            svt_jpeg_encode(
                pixels.baseAddress!.assumingMemoryBound(to: UInt8.self),
                UInt32(image.width),
                UInt32(image.height),
                Int32(SVT_JPEG_BASELINE.rawValue),
                92,
                &out,
                &size
            )
        }
        guard status == 0, let out else { throw RPCStatus(.internal, "test encoder failed") }
        defer { svt_jpeg_free(out) }
        return ZeroizingBuffer(copying: UnsafeRawBufferPointer(start: out, count: size))
    }

    /// A grey JPEG with no face.
    static func blank(width: Int = 320, height: Int = 240) throws -> ZeroizingBuffer {
        let pixels = ZeroizingBuffer(count: width * height * 3)
        pixels.withUnsafeMutableBytes { _ = $0.initializeMemory(as: UInt8.self, repeating: 120) }
        return try encode(RGBImage(width: width, height: height, pixels: pixels))
    }

    /// Two fixture photos side by side.
    static func twoFaces() throws -> ZeroizingBuffer {
        let a = try JPEGDecoder().decode(try bytes(Paths.face("london_001__neutral.jpg")))
        let b = try JPEGDecoder().decode(try bytes(Paths.face("london_025__neutral.jpg")))
        let width = a.width + b.width
        let height = max(a.height, b.height)
        let pixels = ZeroizingBuffer(count: width * height * 3)
        pixels.withUnsafeMutableBytes { target in
            for (image, x0) in [(a, 0), (b, a.width)] {
                image.pixels.withUnsafeBytes { source in
                    for row in 0..<image.height {
                        target.baseAddress!.advanced(by: (row * width + x0) * 3)
                            .copyMemory(
                                from: source.baseAddress!.advanced(by: row * image.stride),
                                byteCount: image.stride
                            )
                    }
                }
            }
        }
        return try encode(RGBImage(width: width, height: height, pixels: pixels))
    }

    /// A photo shrunk by an integer factor and set in the top-left corner of a grey frame of its
    /// own size (a person far from the camera); with `light` below 1, every pixel darkened too.
    static func variant(_ path: String, shrunkBy factor: Int = 1, light: Double = 1) throws -> ZeroizingBuffer {
        let image = try JPEGDecoder().decode(try bytes(path))
        let pixels = ZeroizingBuffer(count: image.width * image.height * 3)
        image.pixels.withUnsafeBytes { s in
            pixels.withUnsafeMutableBytes { d in
                for y in 0..<image.height {
                    for x in 0..<image.width {
                        for c in 0..<3 {
                            let inside = x < image.width / factor && y < image.height / factor
                            let value =
                                inside ? Double(s[(y * factor) * image.stride + (x * factor) * 3 + c]) : 128
                            d[(y * image.width + x) * 3 + c] = UInt8(min(255, value * light))
                        }
                    }
                }
            }
        }
        return try encode(RGBImage(width: image.width, height: image.height, pixels: pixels))
    }

    /// A fixture photo shrunk by an integer factor (a small face).
    static func shrunk(_ name: String, by factor: Int) throws -> ZeroizingBuffer {
        let image = try JPEGDecoder().decode(try bytes(Paths.face(name)))
        let width = image.width / factor
        let height = image.height / factor
        let pixels = ZeroizingBuffer(count: width * height * 3)
        image.pixels.withUnsafeBytes { s in
            pixels.withUnsafeMutableBytes { d in
                for y in 0..<height {
                    for x in 0..<width {
                        for c in 0..<3 {
                            d[(y * width + x) * 3 + c] = s[((y * factor) * image.width + x * factor) * 3 + c]
                        }
                    }
                }
            }
        }
        return try encode(RGBImage(width: width, height: height, pixels: pixels))
    }
}
