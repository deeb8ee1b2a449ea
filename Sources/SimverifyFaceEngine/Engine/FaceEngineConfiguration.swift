import Foundation
import SimverifyCore

/// How a `FaceEngine` is set up.
public struct FaceEngineConfiguration: Sendable, Hashable {
    /// Which model family runs: SFace + YuNet by default.
    public var model: FaceModel
    /// The operator's recogniser, for `.onnx` (ignored otherwise).
    public var descriptor: FaceModelDescriptor?
    /// Where the model files are.
    public var models: FaceModelFiles
    /// Worker threads, each with its own ~57 MB model set. Defaults to the core count.
    public var workers: Int
    /// Jobs that may wait while every worker is busy; more are refused with `.overloaded`.
    public var maxQueuedJobs: Int
    /// JPEG limits.
    public var decoding: JPEGDecodingLimits
    /// Detector upsampling and face count.
    public var detection: FaceDetectionPolicy
    /// SFace only: average each feature with its mirrored chip's (test-time augmentation, twice
    /// the feature's cost; measured in docs/DECISIONS.md, off by default).
    public var mirrorAugmentation = false
    /// dlib only: embed the mean over this many jittered chips (face_recognition's num_jitters;
    /// 0 or 1: the chip alone). Measured in docs/DECISIONS.md, off by default.
    public var jitters = 0

    /// Creates a configuration with laptop-friendly defaults.
    public init(
        model: FaceModel = .sface,
        descriptor: FaceModelDescriptor? = nil,
        models: FaceModelFiles = FaceModelFiles(directory: FaceModelFiles.defaultDirectory),
        workers: Int = ProcessInfo.processInfo.activeProcessorCount,
        maxQueuedJobs: Int = 32,
        decoding: JPEGDecodingLimits = .standard,
        detection: FaceDetectionPolicy = .standard
    ) {
        self.model = model
        self.descriptor = descriptor
        self.models = models
        self.workers = workers
        self.maxQueuedJobs = maxQueuedJobs
        self.decoding = decoding
        self.detection = detection
    }
}
