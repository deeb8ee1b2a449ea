import Foundation
import Logging
import NIOCore
import SimverifyAuditLog
import SimverifyCore
import SimverifyProto
import SimverifyProtoMapping
import SimverifyWire
import SwiftProtobuf

/// The transport's side of a call: method id → decode the protobuf payload → the service's typed
/// call → encode its result. Wire statuses (`RPCStatus`) are made here and only here, from the
/// service's `ServiceError`s and from payloads that do not decode. Images are moved out of the
/// frame into zeroizing buffers and every copy the decoding made is zeroed.
package struct Router: Sendable {
    let service: VerificationService
    let logger: Logger

    /// Handles one call: the response payload, or the status of the failure.
    func handle(method: MethodID, payload: ByteBuffer, caller: CallerIdentity) async -> Result<ByteBuffer, RPCStatus> {
        let start = ContinuousClock.now
        let result: Result<ByteBuffer, RPCStatus>
        do {
            result = .success(try await self.route(method: method, payload: payload, caller: caller))
        } catch let error as ServiceError {
            result = .failure(RPCStatus(error))
        } catch let status as RPCStatus {
            result = .failure(status)
        } catch {
            self.logger.error("call failed", metadata: ["method": "\(method)", "error_type": "\(type(of: error))"])
            result = .failure(RPCStatus(.internal, "internal error", reason: "internal"))
        }
        // Known methods only: a label never carries a number a client chose.
        if ServiceOperation(method) != nil {
            let status: String
            switch result {
            case .success: status = "ok"
            case .failure(let failure): status = "\(failure.code)"
            }
            self.service.metrics.called("\(method)", status: status, duration: ContinuousClock.now - start)
        }
        return result
    }

    private func route(method: MethodID, payload: ByteBuffer, caller: CallerIdentity) async throws -> ByteBuffer {
        let service = self.service
        switch method {
        case .health:
            // Empty today, but parsed: bytes that are no HealthRequest are malformed_payload.
            let _: Simverify_V1_HealthRequest = try Self.decode(payload)
            return try Self.encode(Simverify_V1_HealthResponse(service.health()))
        case .startSession:
            try await self.checkRate(.startSession, caller: caller, payload: payload)
            let _: Simverify_V1_StartSessionRequest = try Self.decode(payload)
            return try Self.encode(Simverify_V1_StartSessionResponse(try await service.startSession(caller: caller)))
        case .verify:
            try await self.checkRate(.verify, caller: caller, payload: payload)
            // One copy of the request, passed inout, so its image fields are zeroed in place.
            var message: Simverify_V1_VerifyRequest = try Self.decodeAndScrub(payload)
            let request = VerifyRequest(taking: &message)
            return try Self.encode(Simverify_V1_VerifyResponse(try await service.verify(request, caller: caller)))
        case .extractTemplate:
            try await self.checkRate(.extractTemplate, caller: caller, payload: payload)
            var message: Simverify_V1_ExtractTemplateRequest = try Self.decodeAndScrub(payload)
            let image = message.idCardImage.isEmpty ? nil : ZeroizingBuffer(taking: &message.idCardImage)
            let sealed = try await service.extractTemplate(idCard: image, caller: caller)
            var response = Simverify_V1_ExtractTemplateResponse()
            response.sealedTemplate = Data(sealed.sealed)
            response.expiresAtUnix = Int64(sealed.expiresAt)
            response.keyID = sealed.keyID
            return try Self.encode(response)
        case .checkFrame:
            try await self.checkRate(.checkFrame, caller: caller, payload: payload)
            var message: Simverify_V1_CheckFrameRequest = try Self.decodeAndScrub(payload)
            let frame = ZeroizingBuffer(taking: &message.frame)
            let check = try await service.checkFrame(frame, caller: caller)
            var response = Simverify_V1_CheckFrameResponse()
            response.problem = check.problem.map(Simverify_V1_ReasonCode.init) ?? .reasonUnspecified
            response.faceWidth = UInt32(clamping: check.faceWidth)
            response.minimumFaceWidth = UInt32(clamping: check.minimumFaceWidth)
            return try Self.encode(response)
        case .getCheckpoint:
            let _: Simverify_V1_GetCheckpointRequest = try Self.decode(payload)
            var response = Simverify_V1_GetCheckpointResponse()
            response.note = Data(try await service.checkpoint())
            return try Self.encode(response)
        case .getEntries:
            let request: Simverify_V1_GetEntriesRequest = try Self.decode(payload)
            var response = Simverify_V1_GetEntriesResponse()
            response.entries = try await service.entries(from: request.start, to: request.end).map { Data($0) }
            return try Self.encode(response)
        case .getInclusionProof:
            let request: Simverify_V1_GetInclusionProofRequest = try Self.decode(payload)
            return try Self.proof(try await service.inclusionProof(index: request.leafIndex, size: request.treeSize))
        case .getConsistencyProof:
            let request: Simverify_V1_GetConsistencyProofRequest = try Self.decode(payload)
            return try Self.proof(try await service.consistencyProof(from: request.fromSize, to: request.toSize))
        case .stats:
            let _: Simverify_V1_StatsRequest = try Self.decode(payload)
            var response = Simverify_V1_StatsResponse()
            response.rows = try await service.stats().map(Simverify_V1_StatsRow.init)
            return try Self.encode(response)
        case .lookupSubject:
            let request: Simverify_V1_LookupSubjectRequest = try Self.decode(payload)
            let lookup = try await service.lookupSubject(nationalID: request.nationalID, caller: caller)
            var response = Simverify_V1_LookupSubjectResponse()
            response.leafIndices = lookup.matches
            response.lookupLeafIndex = lookup.lookupLeafIndex
            return try Self.encode(response)
        default:
            throw RPCStatus(.unimplemented, "unknown method", reason: "unknown_method")
        }
    }

    private static func proof(_ hashes: [[UInt8]]) throws -> ByteBuffer {
        var response = Simverify_V1_ProofResponse()
        response.hashes = hashes.map { Data($0) }
        return try Self.encode(response)
    }

    /// The service's rate check, before the payload is decoded: a refused request's bytes are
    /// zeroed in the frame and never copied.
    private func checkRate(_ operation: ServiceOperation, caller: CallerIdentity, payload: ByteBuffer) async throws {
        do {
            try await self.service.checkRate(operation, caller: caller)
        } catch {
            Self.scrub(payload)
            throw error
        }
    }

    /// Records a call refused by a connection limit, for the methods the audit log counts.
    func recordLimit(_ limit: String, method: MethodID, caller: CallerIdentity) async {
        guard method == .verify || method == .extractTemplate, let operation = ServiceOperation(method) else {
            self.service.metrics.limited(limit)
            return
        }
        try? await self.service.recordLimit(limit, operation: operation, caller: caller)
    }

    /// Records that a Verify's answer (already recorded) never reached its caller.
    func recordUndelivered(response payload: ByteBuffer, reason: String, caller: CallerIdentity) async {
        guard let response: Simverify_V1_VerifyResponse = try? Self.decode(payload) else { return }
        await self.service.recordUndelivered(
            decision: Decision(response.decision),
            leafIndex: response.receipt.leafIndex,
            reason: reason,
            caller: caller
        )
    }

    // MARK: Decoding

    /// Decodes and validates a request payload as the server would, without the face engine or
    /// the log: the status it would be refused with, or nil when it is well-formed. The fuzz
    /// harnesses call it.
    package static func validate(method: MethodID, payload: ByteBuffer) -> RPCStatus? {
        do {
            switch method {
            case .verify:
                var message: Simverify_V1_VerifyRequest = try Self.decode(payload)
                _ = try VerifyInputs(VerifyRequest(taking: &message))
            case .extractTemplate:
                let _: Simverify_V1_ExtractTemplateRequest = try Self.decode(payload)
            case .checkFrame:
                let _: Simverify_V1_CheckFrameRequest = try Self.decode(payload)
            case .health:
                let _: Simverify_V1_HealthRequest = try Self.decode(payload)
            case .getEntries:
                let _: Simverify_V1_GetEntriesRequest = try Self.decode(payload)
            case .lookupSubject:
                let request: Simverify_V1_LookupSubjectRequest = try Self.decode(payload)
                try SubjectValidation.validate(SubjectReferences(nationalID: request.nationalID))
            default:
                return nil
            }
            return nil
        } catch let error as ServiceError {
            return RPCStatus(error)
        } catch let status as RPCStatus {
            return status
        } catch {
            return RPCStatus(.internal, "unexpected error")
        }
    }

    /// Decodes a request carrying images, then overwrites the frame's bytes in place: protobuf
    /// has copied out what it keeps, and those copies are zeroed when moved out.
    static func decodeAndScrub<Message: SwiftProtobuf.Message>(_ payload: ByteBuffer) throws -> Message {
        defer { Self.scrub(payload) }
        return try Self.decode(payload)
    }

    /// Overwrites a frame's payload in place. Deliberately writes through the read-only view:
    /// the storage is shared with the connection's cumulation buffer, whose consumed bytes these
    /// are, and a mutable access would copy them (copy-on-write) instead of clearing them.
    static func scrub(_ payload: ByteBuffer) {
        payload.withUnsafeReadableBytes { bytes in
            if let base = bytes.baseAddress { memset(UnsafeMutableRawPointer(mutating: base), 0, bytes.count) }
        }
    }

    static func decode<Message: SwiftProtobuf.Message>(_ payload: ByteBuffer) throws -> Message {
        do {
            return try payload.withUnsafeReadableBytes { bytes in
                // Borrow the frame's bytes without copying; protobuf copies out what it keeps.
                let view =
                    bytes.baseAddress.map {
                        Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: $0), count: bytes.count, deallocator: .none)
                    } ?? Data()
                return try Message(serializedBytes: view)
            }
        } catch {
            throw RPCStatus(
                .invalidArgument,
                "the request payload is not a valid \(Message.protoMessageName)",
                reason: "malformed_payload"
            )
        }
    }

    static func encode(_ message: some SwiftProtobuf.Message) throws -> ByteBuffer {
        let bytes: [UInt8] = try message.serializedBytes()
        return ByteBuffer(bytes: bytes)
    }
}

// MARK: The wire form of the service's types

extension RPCStatus {
    /// The wire status of a service error: its code by name, its reason's spelling, its message.
    init(_ error: ServiceError) {
        let code: RPCStatusCode =
            switch error.code.kind {
            case .invalidArgument: .invalidArgument
            case .failedPrecondition: .failedPrecondition
            case .permissionDenied: .permissionDenied
            case .resourceExhausted: .resourceExhausted
            case .unavailable: .unavailable
            case .cancelled: .cancelled
            case .outOfRange: .outOfRange
            case .unimplemented: .unimplemented
            case .internal: .internal
            }
        self.init(code, error.message, reason: error.reason.rawValue)
    }
}

extension ServiceOperation {
    /// The operation a method id calls, if any.
    init?(_ method: MethodID) {
        self.init(rawValue: method.description)
    }
}

extension ZeroizingBuffer {
    /// Moves an image out of a decoded message: copied into a zeroizing buffer, the message's
    /// bytes zeroed (every request that carries an image comes through here).
    convenience init(taking data: inout Data) {
        self.init(count: data.count)
        self.withUnsafeMutableBytes { target in data.copyBytes(to: target.bindMemory(to: UInt8.self)) }
        data.resetBytes(in: 0..<data.count)
    }
}

extension VerifyRequest {
    /// Moves a decoded request's images into zeroizing buffers and zeroes the message's copies.
    init(taking message: inout Simverify_V1_VerifyRequest) {
        let idCard = message.idCardImage.isEmpty ? nil : ZeroizingBuffer(taking: &message.idCardImage)
        let frames = message.selfieFrames.indices.map { ZeroizingBuffer(taking: &message.selfieFrames[$0]) }
        self.init(
            idCardImage: idCard,
            sealedTemplate: message.sealedTemplate.isEmpty ? nil : Array(message.sealedTemplate),
            selfieFrames: frames,
            subject: SubjectReferences(
                nationalID: message.subject.nationalID,
                msisdn: message.subject.msisdn,
                iccid: message.subject.iccid
            ),
            consentGiven: message.consent.given,
            sessionToken: message.sessionToken,
            frameTimes: message.frameTimesMs.map { Int($0) }
        )
    }
}

extension Simverify_V1_VerifyResponse {
    init(_ result: VerifyResult) {
        self.init()
        self.receipt.leafIndex = result.receipt.leafIndex
        self.receipt.leafHash = Data(result.receipt.leafHash)
        self.decision = Simverify_V1_Decision(result.decision)
        self.reasons = result.reasons.map(Simverify_V1_ReasonCode.init)
        self.policyVersion = result.policyVersion
        self.attemptsRemaining = UInt32(result.attemptsRemaining)
        if let scores = result.scores {
            self.scores.distance = Float(scores.distance)
            self.scores.threshold = Float(scores.threshold)
        }
    }
}

extension Simverify_V1_HealthResponse {
    init(_ report: HealthReport) {
        self.init()
        self.status = .serving
        self.version = report.version
        self.faceWorkers = UInt32(report.faceWorkers)
        self.faceJobsBusy = UInt32(report.faceJobsBusy)
        self.faceJobsWaiting = UInt32(report.faceJobsWaiting)
    }
}

extension Simverify_V1_StartSessionResponse {
    init(_ grant: SessionGrant) {
        self.init()
        self.sessionToken = grant.token
        self.challenge = grant.challenge.map(Simverify_V1_ChallengeStep.init)
        self.expiresAtUnix = Int64(grant.expiresAt)
        self.attemptsAllowed = UInt32(grant.attemptsAllowed)
    }
}

extension Simverify_V1_StatsRow {
    init(_ row: AuditLog.StatsRow) {
        self.init()
        self.tenant = row.tenant
        self.event = row.event.name
        self.decision = row.decision
        self.day = row.day
        self.count = UInt64(row.count)
    }
}
