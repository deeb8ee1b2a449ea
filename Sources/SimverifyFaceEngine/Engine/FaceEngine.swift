import CSimverifyDlib
import CSimverifyOpenCV
import Logging
import SimverifyCore

/// The face pipeline: JPEG decoding, detection with five points, a 128-D embedding; SFace and
/// YuNet on OpenCV's dnn by default, dlib's HOG and ResNet when configured.
///
/// Work runs on a pool of worker threads, one model set each, with OpenBLAS and OpenCV at one thread.
/// Images are decoded into zeroizing buffers and dropped when the call returns.
public final class FaceEngine: Sendable {
    /// The configuration the engine runs with.
    public let configuration: FaceEngineConfiguration
    let pool: WorkerPool<any FaceModelSet>
    private let logger: Logger

    /// Verifies the model files against their pins and loads one model set per worker.
    /// - Throws: `FaceEngineError` `.modelMissing`, `.modelMismatch`, `.modelUnreadable` or
    ///   `.invalidArgument` (worker count outside 1-64).
    public init(configuration: FaceEngineConfiguration = FaceEngineConfiguration(), logger: Logger) throws {
        guard (1...64).contains(configuration.workers) else {
            throw FaceEngineError(.invalidArgument, "worker count must be 1-64, not \(configuration.workers)")
        }
        try configuration.models.verify(for: configuration.model)
        if configuration.model == .onnx {
            guard let descriptor = configuration.descriptor else {
                throw FaceEngineError(.invalidArgument, "the onnx model needs a model descriptor")
            }
            try descriptor.verifyFile()
        }
        // Each worker is one thread: OpenBLAS's or OpenCV's own threads would oversubscribe the cores.
        _ = sv_dlib_set_blas_threads(1)
        sv_cv_set_threads(1)
        var sets: [any FaceModelSet] = []
        for _ in 0..<configuration.workers {
            sets.append(try Self.loadModels(configuration))
        }
        self.configuration = configuration
        self.pool = WorkerPool(resources: sets, maxQueued: configuration.maxQueuedJobs, name: "simverify-face")
        self.logger = logger
        logger.info(
            "face engine ready",
            metadata: [
                "model": "\(configuration.model)", "workers": "\(configuration.workers)",
                "max_queued": "\(configuration.maxQueuedJobs)",
            ]
        )
    }

    private static func loadModels(_ configuration: FaceEngineConfiguration) throws -> any FaceModelSet {
        switch configuration.model {
        case .dlib: try DlibModelSet(files: configuration.models, jitters: configuration.jitters)
        case .sface: try YuNetModelSet(files: configuration.models, mirror: configuration.mirrorAugmentation)
        // init checked that the descriptor is there.
        case .onnx: try YuNetModelSet(files: configuration.models, descriptor: configuration.descriptor!)
        }
    }

    deinit {
        self.pool.stop(wait: false)
    }

    /// The model family the engine runs.
    public var model: FaceModel { self.configuration.model }

    /// Where its embeddings live.
    public var space: EmbeddingSpace {
        EmbeddingSpace.builtIn(self.configuration.model) ?? self.configuration.descriptor!.space
    }

    /// The model version written into audit records: the family and its files' pinned hashes.
    public var modelVersion: String {
        FaceModelFiles.version(of: self.configuration.model, descriptor: self.configuration.descriptor)
    }

    /// The rules the command-line tools decide with: the shipped policy of a built-in model, the
    /// descriptor's threshold for an operator's.
    public var suggestedPolicy: MatchPolicy {
        MatchPolicy.standard(for: self.configuration.model) ?? self.configuration.descriptor!.suggestedPolicy
    }

    /// Number of worker threads.
    public var workerCount: Int { self.pool.workerCount }

    /// Jobs running and waiting now.
    public var load: (busy: Int, waiting: Int) { self.pool.load }

    /// Decodes a JPEG and analyses every face in it.
    /// - Parameters:
    ///   - jpeg: The encoded image; the engine reads it and keeps no copy.
    ///   - kind: Selfie or ID card: sets where the detector starts.
    ///   - embeddings: Which faces get an embedding.
    /// - Returns: Faces found (zero, one or several), with timings.
    /// - Throws: `FaceEngineError`: an image code for bad bytes, `.overloaded` when the queue is full.
    public func analyze(
        jpeg: ZeroizingBuffer,
        kind: ImageKind,
        embeddings: EmbeddingSelection = .allFaces
    ) async throws -> FaceAnalysis {
        let decoder = JPEGDecoder(limits: self.configuration.decoding)
        let policy = self.configuration.detection
        return try await self.pool.run { models in
            var timings = StageTimings()
            let image = try decoder.decode(jpeg, timings: &timings)
            return try models.analyze(
                image,
                kind: kind,
                policy: policy,
                embeddings: embeddings,
                tracking: nil,
                timings: &timings
            )
        }
    }

    /// One image of a batch.
    public struct BatchItem: Sendable {
        /// The encoded image.
        public var jpeg: ZeroizingBuffer
        /// Selfie or ID card.
        public var kind: ImageKind
        /// Which faces get an embedding.
        public var embeddings: EmbeddingSelection

        /// Creates an item.
        public init(jpeg: ZeroizingBuffer, kind: ImageKind, embeddings: EmbeddingSelection = .largestFace) {
            self.jpeg = jpeg
            self.kind = kind
            self.embeddings = embeddings
        }
    }

    /// Analyses several images as one job on one worker: admitted or refused as a whole, so a
    /// request never holds half its work when the queue fills.
    /// - Returns: One result per item, in order; an item's bad bytes fail only that item.
    /// - Throws: `FaceEngineError` `.overloaded` or `.shutDown` for the whole batch.
    public func analyze(batch: [BatchItem]) async throws -> [Result<FaceAnalysis, FaceEngineError>] {
        let decoder = JPEGDecoder(limits: self.configuration.decoding)
        let policy = self.configuration.detection
        return try await self.pool.run { models in
            batch.map { item in
                Self.attempt {
                    var timings = StageTimings()
                    let image = try decoder.decode(item.jpeg, timings: &timings)
                    return try models.analyze(
                        image,
                        kind: item.kind,
                        policy: policy,
                        embeddings: item.embeddings,
                        tracking: nil,
                        timings: &timings
                    )
                }
            }
        }
    }

    /// The result of one image's work: its own failure fails only that image.
    static func attempt<Value>(_ body: () throws -> Value) -> Result<Value, FaceEngineError> {
        do {
            return .success(try body())
        } catch let error as FaceEngineError {
            return .failure(error)
        } catch {
            return .failure(FaceEngineError(.internalError, "unexpected failure"))
        }
    }

    /// Analyses already-decoded pixels.
    public func analyze(
        image: RGBImage,
        kind: ImageKind,
        embeddings: EmbeddingSelection = .allFaces
    ) async throws -> FaceAnalysis {
        let policy = self.configuration.detection
        return try await self.pool.run { models in
            var timings = StageTimings()
            return try models.analyze(
                image,
                kind: kind,
                policy: policy,
                embeddings: embeddings,
                tracking: nil,
                timings: &timings
            )
        }
    }

    /// Analyses pixels with a detection policy other than the configured one (parity, benchmarks).
    public func analyze(
        image: RGBImage,
        kind: ImageKind,
        policy: FaceDetectionPolicy,
        embeddings: EmbeddingSelection = .allFaces
    ) async throws -> FaceAnalysis {
        try await self.pool.run { models in
            var timings = StageTimings()
            return try models.analyze(
                image,
                kind: kind,
                policy: policy,
                embeddings: embeddings,
                tracking: nil,
                timings: &timings
            )
        }
    }

    /// Stops taking work, lets queued work finish, and waits for the workers to exit.
    public func shutdown() async {
        await self.pool.stop()
    }
}
