import SimverifyCore
import SimverifyLiveness

/// What the verification service needs of a face engine: one-job batches of images, liveness
/// bursts, its model and its load. `FaceEngine` is the real one; tests of the service put a
/// stand-in in its place (no model files, no native code).
public protocol FaceAnalyzer: Sendable {
    /// The model family; a policy must be calibrated for it.
    var model: FaceModel { get }
    /// The embedding space of the loaded model (what sealed templates are bound to).
    var space: EmbeddingSpace { get }
    /// The pinned model files' identity, written into every verify record.
    var modelVersion: String { get }
    /// Worker threads.
    var workerCount: Int { get }
    /// Jobs running and waiting now.
    var load: (busy: Int, waiting: Int) { get }
    /// Analyses several images as one job, admitted or refused as a whole.
    /// - Throws: `FaceEngineError` `.overloaded` or `.shutDown` for the whole batch.
    func analyze(batch: [FaceEngine.BatchItem]) async throws -> [Result<FaceAnalysis, FaceEngineError>]
    /// Analyses a liveness burst and, when given, the ID-card photo as one job; with
    /// `embeddingFrames`, only the frames it chooses from the observations are embedded.
    /// - Throws: `FaceEngineError` `.overloaded` or `.shutDown` for the whole job.
    func analyze(
        session frames: [ZeroizingBuffer],
        reference: ZeroizingBuffer?,
        embeddingFrames: (@Sendable ([FrameObservation]) -> [Int])?
    ) async throws -> SessionAnalysis
    /// Stops taking work and waits for the work in hand.
    func shutdown() async
}

extension FaceAnalyzer {
    /// Analyses a liveness burst with every frame embedded.
    public func analyze(session frames: [ZeroizingBuffer], reference: ZeroizingBuffer?) async throws -> SessionAnalysis
    {
        try await self.analyze(session: frames, reference: reference, embeddingFrames: nil)
    }
}

extension FaceEngine: FaceAnalyzer {}
