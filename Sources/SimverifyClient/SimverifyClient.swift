import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import SimverifyCore
import SimverifyProto
import SimverifyProtoMapping
import SimverifyWire
import SwiftProtobuf

/// An async client for one mutual-TLS connection to a simverify server. Calls may run
/// concurrently; they are multiplexed on the connection.
public final class SimverifyClient: Sendable {
    private let channel: any Channel

    private init(channel: any Channel) {
        self.channel = channel
    }

    /// Connects and completes the TLS handshake.
    /// - Throws: `SimverifyClientError` `.unavailable` (reason `connect`) when the server cannot be
    ///   reached or refuses the handshake; `.invalidArgument` (`tls_files`) when the certificate
    ///   files cannot be loaded.
    public static func connect(
        _ configuration: ClientConfiguration
    ) async throws(SimverifyClientError) -> SimverifyClient {
        let group = MultiThreadedEventLoopGroup.singleton
        let context: NIOSSLContext
        do {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.minimumTLSVersion = .tlsv12
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(configuration.certificate).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: configuration.privateKey, format: .pem))
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(configuration.trustRoots))
            context = try NIOSSLContext(configuration: tls)
        } catch {
            throw SimverifyClientError(
                .invalidArgument,
                "cannot load the client certificate, key or CA: \(error)",
                reason: .tlsFiles
            )
        }
        let hostname = configuration.serverHostname
        let timeout = configuration.connectTimeout.components
        do {
            let channel = try await ClientBootstrap(group: group)
                .connectTimeout(.seconds(timeout.seconds))
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let sync = channel.pipeline.syncOperations
                        try sync.addHandler(NIOSSLClientHandler(context: context, serverHostname: hostname))
                        try sync.addHandler(ByteToMessageHandler(FrameDecoder(limits: .standard)))
                        try sync.addHandler(FrameWriter())
                        try sync.addHandler(ClientHandler())
                    }
                }
                .connect(host: configuration.host, port: configuration.port).get()
            return SimverifyClient(channel: channel)
        } catch {
            throw SimverifyClientError(
                .unavailable,
                "cannot connect to \(configuration.host):\(configuration.port): \(error)",
                reason: .connect
            )
        }
    }

    /// Sends one raw call and waits for its answer. Package-only: the public API has no wire
    /// type; the bad-input tests and the soak tool send payloads the typed calls cannot.
    /// - Parameters:
    ///   - method: The method.
    ///   - payload: The serialised request.
    ///   - deadline: The call's deadline; nil for the server's default.
    /// - Throws: `SimverifyClientError` from the server's status or for a lost connection.
    package func call(
        method: MethodID,
        payload: ByteBuffer,
        deadline: Duration? = nil
    ) async throws(SimverifyClientError) -> ByteBuffer {
        let promise = self.channel.eventLoop.makePromise(of: ByteBuffer.self)
        let milliseconds =
            deadline.map {
                UInt32(clamping: $0.components.seconds * 1000 + $0.components.attoseconds / 1_000_000_000_000_000)
            } ?? 0
        let call = ClientCall(method: method, payload: payload, deadlineMilliseconds: milliseconds, promise: promise)
        self.channel.writeAndFlush(call).whenFailure { error in promise.fail(error) }
        do {
            return try await promise.futureResult.get()
        } catch let status as RPCStatus {
            throw SimverifyClientError(status)
        } catch {
            throw SimverifyClientError(
                .unavailable,
                "the connection failed: \(type(of: error))",
                reason: .connectionError
            )
        }
    }

    /// Asks the server whether it is serving.
    public func health(deadline: Duration? = .seconds(5)) async throws(SimverifyClientError) -> HealthReport {
        let response: Simverify_V1_HealthResponse = try await self.call(
            .health,
            Simverify_V1_HealthRequest(),
            deadline: deadline
        )
        return HealthReport(
            serving: response.status == .serving,
            version: response.version,
            faceWorkers: Int(response.faceWorkers),
            faceJobsBusy: Int(response.faceJobsBusy),
            faceJobsWaiting: Int(response.faceJobsWaiting)
        )
    }

    /// Verifies a selfie against an ID card.
    /// - Throws: `SimverifyClientError` for a refused or failed call; a mismatch is a decision, not an error.
    public func verify(
        _ request: VerificationRequest,
        deadline: Duration? = .seconds(30)
    ) async throws(SimverifyClientError) -> VerificationResult {
        var message = Simverify_V1_VerifyRequest()
        if let image = request.idCardImage { message.idCardImage = image.withUnsafeBytes { Data($0) } }
        if let template = request.sealedTemplate { message.sealedTemplate = Data(template) }
        message.selfieFrames = request.selfieFrames.map { frame in frame.withUnsafeBytes { Data($0) } }
        message.sessionToken = request.sessionToken ?? ""
        message.subject.nationalID = request.subject.nationalID
        message.subject.msisdn = request.subject.msisdn
        message.subject.iccid = request.subject.iccid
        message.consent.given = request.consentGiven
        message.consent.textVersion = request.consentTextVersion
        message.frameTimesMs = request.frameTimesMilliseconds
        let response: Simverify_V1_VerifyResponse = try await self.call(.verify, message, deadline: deadline)
        return VerificationResult(response)
    }

    /// Starts a liveness session.
    /// - Throws: `SimverifyClientError` when refused.
    public func startSession(deadline: Duration? = .seconds(10)) async throws(SimverifyClientError) -> LivenessSession {
        let response: Simverify_V1_StartSessionResponse = try await self.call(
            .startSession,
            Simverify_V1_StartSessionRequest(),
            deadline: deadline
        )
        return LivenessSession(
            token: response.sessionToken,
            challenge: response.challenge.compactMap(ChallengeStep.init),
            expiresAt: response.expiresAtUnix,
            attemptsAllowed: Int(response.attemptsAllowed)
        )
    }

    /// What the capture gates would say of one preview frame, before a burst is captured: no
    /// decision, no audit record, no session attempt (its own rate limit, 4 a second).
    /// - Throws: `SimverifyClientError` when refused (e.g. `frame.not_jpeg`, `rate_limited`).
    public func checkFrame(
        _ frame: ZeroizingBuffer,
        deadline: Duration? = .seconds(5)
    ) async throws(SimverifyClientError) -> FrameCheckResult {
        var message = Simverify_V1_CheckFrameRequest()
        message.frame = frame.withUnsafeBytes { Data($0) }
        let response: Simverify_V1_CheckFrameResponse = try await self.call(.checkFrame, message, deadline: deadline)
        message.frame.resetBytes(in: 0..<message.frame.count)
        return FrameCheckResult(
            problem: ReasonCode(response.problem),
            faceWidth: Int(response.faceWidth),
            minimumFaceWidth: Int(response.minimumFaceWidth)
        )
    }

    /// Closes the connection.
    public func close() async {
        try? await self.channel.close()
    }

    func call<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: MethodID,
        _ request: Request,
        deadline: Duration? = .seconds(30)
    ) async throws(SimverifyClientError) -> Response {
        let bytes: [UInt8]
        do {
            bytes = try request.serializedBytes()
        } catch {
            throw SimverifyClientError(.invalidArgument, "the request cannot be encoded", reason: .malformedPayload)
        }
        let payload = try await self.call(method: method, payload: ByteBuffer(bytes: bytes), deadline: deadline)
        do {
            return try Response(serializedBytes: Array(payload.readableBytesView))
        } catch {
            throw SimverifyClientError(.internal, "an unreadable response from the server", reason: .malformedResponse)
        }
    }
}

extension VerificationResult {
    init(_ response: Simverify_V1_VerifyResponse) {
        self.init(
            decision: Decision(response.decision) ?? .retry,
            reasons: response.reasons.compactMap(ReasonCode.init),
            distance: response.hasScores ? Double(response.scores.distance) : nil,
            threshold: response.hasScores ? Double(response.scores.threshold) : nil,
            policyVersion: response.policyVersion,
            receiptLeafIndex: response.hasReceipt ? response.receipt.leafIndex : nil,
            receiptLeafHash: response.hasReceipt ? Array(response.receipt.leafHash) : nil,
            attemptsRemaining: Int(response.attemptsRemaining)
        )
    }
}

extension SimverifyClientError {
    /// The client's error for a status from the wire (or made by the connection handler).
    init(_ status: RPCStatus) {
        let code: Code =
            switch status.code {
            case .ok, .unknown: .unknown
            case .cancelled: .cancelled
            case .invalidArgument: .invalidArgument
            case .deadlineExceeded: .deadlineExceeded
            case .notFound: .notFound
            case .alreadyExists: .alreadyExists
            case .permissionDenied: .permissionDenied
            case .resourceExhausted: .resourceExhausted
            case .failedPrecondition: .failedPrecondition
            case .aborted: .aborted
            case .outOfRange: .outOfRange
            case .unimplemented: .unimplemented
            case .internal: .internal
            case .unavailable: .unavailable
            case .dataLoss: .dataLoss
            case .unauthenticated: .unauthenticated
            }
        self.init(code, status.message, reason: Reason(rawValue: status.reason))
    }
}
