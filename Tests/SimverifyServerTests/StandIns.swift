import Foundation
import Logging
import SimverifyAudit
import SimverifyAuditLog
import SimverifyCore
import SimverifyFaceEngine
import SimverifyLiveness
import SimverifyPKI
import Synchronization

@testable import SimverifyServer

/// A face engine that reads scripted "images" instead of JPEGs, for tests of the service that
/// need no model files and no native code. An image is UTF-8 text:
/// - `face:DEG` one face, 200 px wide, whose SFace-space embedding is at angle DEG in a plane
///   (two faces at angles a and b are at cosine distance 1 - cos(a - b));
/// - `face:DEG:WIDTH` the same with another width; `masked:DEG` a face whose lower half shows no skin;
/// - `faces:N` N faces of 200 px; `none` no face;
/// - anything else is refused as not a JPEG.
/// `overloaded` makes every job refused as a whole, as a full queue does.
final class StandInEngine: FaceAnalyzer {
    let model = FaceModel.sface
    let space = EmbeddingSpace.sface
    let modelVersion = "stand-in-1"
    let workerCount = 1
    var load: (busy: Int, waiting: Int) { (0, 0) }
    let overloaded = Atomic<Bool>(false)
    let jobs = Atomic<Int>(0)

    static func image(_ script: String) -> [UInt8] { Array(script.utf8) }

    static func embedding(degrees: Double) -> FaceEmbedding {
        var values = [Float](repeating: 0, count: FaceEmbedding.dimension)
        values[0] = Float(cos(degrees * .pi / 180))
        values[1] = Float(sin(degrees * .pi / 180))
        return try! FaceEmbedding(values, space: .sface)
    }

    static func face(degrees: Double, width: Int, skin: Double = 0.8) -> DetectedFace {
        DetectedFace(
            box: FaceBox(left: 100, top: 100, right: 100 + width, bottom: 100 + width),
            confidence: 0.95,
            landmarks: [],
            quality: FaceQuality(
                widthPixels: width,
                heightPixels: width,
                sharpness: 80,
                brightness: 120,
                lowerFaceSkin: skin
            ),
            embedding: Self.embedding(degrees: degrees)
        )
    }

    func analyze(_ jpeg: ZeroizingBuffer) -> Result<FaceAnalysis, FaceEngineError> {
        let script = jpeg.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
        let parts = script.split(separator: ":").map(String.init)
        let faces: [DetectedFace]
        switch (parts.first, parts.count) {
        case ("face", 2), ("face", 3):
            guard let degrees = Double(parts[1]) else { return .failure(FaceEngineError(.notJPEG, "not a JPEG")) }
            faces = [Self.face(degrees: degrees, width: parts.count == 3 ? Int(parts[2]) ?? 0 : 200)]
        case ("masked", 2):
            faces = [Self.face(degrees: Double(parts[1]) ?? 0, width: 200, skin: 0)]
        case ("faces", 2):
            faces = (0..<(Int(parts[1]) ?? 0)).map { _ in Self.face(degrees: 0, width: 200) }
        case ("none", 1):
            faces = []
        default:
            return .failure(FaceEngineError(.notJPEG, "not a JPEG"))
        }
        return .success(
            FaceAnalysis(model: .sface, imageWidth: 640, imageHeight: 480, detectorInput: 640, faces: faces)
        )
    }

    func analyze(batch: [FaceEngine.BatchItem]) async throws -> [Result<FaceAnalysis, FaceEngineError>] {
        guard !self.overloaded.load(ordering: .relaxed) else {
            throw FaceEngineError(.overloaded, "the face queue is full")
        }
        self.jobs.add(1, ordering: .relaxed)
        return batch.map { self.analyze($0.jpeg) }
    }

    func analyze(
        session frames: [ZeroizingBuffer],
        reference: ZeroizingBuffer?,
        embeddingFrames: (@Sendable ([FrameObservation]) -> [Int])?
    ) async throws -> SessionAnalysis {
        guard !self.overloaded.load(ordering: .relaxed) else {
            throw FaceEngineError(.overloaded, "the face queue is full")
        }
        // Liveness bursts need real frames (their geometry and texture): they are judged with the
        // real engine in LivenessEndToEndTests. Here a burst's analysis is an internal error.
        throw FaceEngineError(.internalError, "the stand-in engine does not analyse bursts")
    }

    func shutdown() async {}
}

/// An audit store in memory: records appended in order, with receipts; the regulator's reads are
/// not served (they are tested against the SQLite log). Can be made to fail every append.
actor MemoryAuditStore: AuditStore {
    private(set) var records: [AuditRecord] = []
    var failing = false

    func setFailing(_ failing: Bool) { self.failing = failing }

    struct Unavailable: Error {}

    func append(_ record: AuditRecord) async throws -> AuditReceipt {
        guard !self.failing else { throw Unavailable() }
        self.records.append(record)
        return AuditReceipt(leafIndex: UInt64(self.records.count - 1), leafHash: MerkleHash.leaf(try record.encoded()))
    }

    func latestSignedCheckpoint() async throws -> [UInt8] { throw Unavailable() }
    func entries(from start: UInt64, to end: UInt64) async throws -> [[UInt8]] { throw Unavailable() }
    func inclusionProof(index: UInt64, size: UInt64) async throws -> [[UInt8]] { throw Unavailable() }
    func consistencyProof(from: UInt64, to: UInt64) async throws -> [[UInt8]] { throw Unavailable() }
    func entries(matching hmacs: [[UInt8]]) async throws -> [UInt64] { throw Unavailable() }
    func stats() async throws -> [AuditLog.StatsRow] { throw Unavailable() }
}

/// A session store in memory, applying the session rules' events under a lock.
final class MemorySessionStore: SessionStore {
    private let sessions = Mutex<[[UInt8]: SessionState]>([:])

    func admit(nonce: [UInt8], expiresAt: UInt64, allowed: Int, now: UInt64) async throws -> SessionState.Admission {
        self.sessions.withLock { $0[nonce, default: SessionState()].admit(allowed: allowed) }
    }

    func giveBack(nonce: [UInt8], expiresAt: UInt64) async throws {
        self.sessions.withLock { $0[nonce, default: SessionState()].giveBack() }
    }

    func recorded(_ decision: Decision, nonce: [UInt8], expiresAt: UInt64) async throws -> Bool {
        self.sessions.withLock { $0[nonce, default: SessionState()].recorded(decision) }
    }

    func state(nonce: [UInt8]) async throws -> SessionState? {
        self.sessions.withLock { $0[nonce] }
    }

    /// Every session's state (tests look at the one they started).
    var all: [SessionState] { self.sessions.withLock { Array($0.values) } }
}

extension VerificationService {
    /// A service on the stand-in engine and in-memory audit and session stores: no model files,
    /// no SQLite. One-frame Verify allowed, no rate limits.
    static func standIn(
        engine: StandInEngine = StandInEngine(),
        store: MemoryAuditStore = MemoryAuditStore(),
        sessions: MemorySessionStore = MemorySessionStore(),
        limits: VerificationService.CallLimits = .none,
        policy adjust: (inout MatchPolicy) -> Void = { _ in }
    ) throws -> VerificationService {
        let key = { (id: String) in try IdentifierKeyring.Key(id: id, secret: Array(repeating: 7, count: 32)) }
        let identifiers = IdentifierKeyring(
            keys: Dictionary(uniqueKeysWithValues: AuditRecord.IdentifierField.allCases.map { ($0, [try! key("k1")]) })
        )
        var policy = MatchPolicy.standard
        policy.livenessRequired = false
        adjust(&policy)
        return VerificationService(
            engine: engine,
            policy: policy,
            audit: AuditTrail(
                log: store,
                identifiers: identifiers,
                templates: TemplateSealer(keys: [try key("t1")]),
                sessions: SessionTokens(keys: [try key("s1")])
            ),
            sessions: sessions,
            limits: limits,
            logger: Logger(label: "test")
        )
    }
}
