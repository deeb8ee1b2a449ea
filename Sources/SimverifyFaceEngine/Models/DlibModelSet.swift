import CSimverifyDlib
import SimverifyCore
import SimverifyLiveness

/// One worker's loaded models: detection, five points and an embedding for every face of an image.
///
/// Detectors and networks keep internal state, so a set is used by one thread at a time; the
/// worker pool gives each worker its own.
protocol FaceModelSet: AnyObject {
    /// The model family, stamped on every embedding and analysis.
    var model: FaceModel { get }

    /// Detection, five points and embeddings on decoded pixels. Runs on a worker thread.
    /// - Parameter tracking: Where the face was in the previous frame of a burst: searched first.
    func analyze(
        _ image: RGBImage,
        kind: ImageKind,
        policy: FaceDetectionPolicy,
        embeddings: EmbeddingSelection,
        tracking: Tracking?,
        timings: inout StageTimings
    ) throws -> FaceAnalysis

    /// The embedding of a chip an analysis deferred (`FaceAnalysis.deferredChip`). Runs on a worker thread.
    func embed(chip: ZeroizingBuffer) throws -> FaceEmbedding

    /// What a burst keeps of a frame's face to follow it into the next frame if the detector
    /// loses it there (`Tracking.template`); nil for a model whose detector does not lose turned faces.
    func followingTemplate(_ image: RGBImage, box: FaceBox) -> GreyImage?
}

extension FaceModelSet {
    /// YuNet finds turned faces: nothing to follow.
    func followingTemplate(_ image: RGBImage, box: FaceBox) -> GreyImage? { nil }
}

/// One loaded set of dlib models (~57 MB): detector, 5-point landmarks, embedding network.
final class DlibModelSet: FaceModelSet {
    let handle: OpaquePointer
    let model = FaceModel.dlib

    /// Loads the models. Call `FaceModelFiles.verify()` first: this only deserialises.
    init(files: FaceModelFiles, jitters: Int = 0) throws {
        var handle: OpaquePointer?
        var message = [CChar](repeating: 0, count: 512)
        let status = sv_dlib_models_load(
            files.path(of: FaceModelFiles.landmarks),
            files.path(of: FaceModelFiles.embedding),
            &handle,
            &message,
            Int32(message.count)
        )
        guard status == SV_DLIB_OK, let handle else {
            throw FaceEngineError(modelLoadMessage: message, otherwise: "the dlib models could not be loaded")
        }
        self.handle = handle
        sv_dlib_set_jitters(handle, Int32(clamping: jitters))
    }

    deinit {
        sv_dlib_models_free(self.handle)
    }

    /// HOG loses heads turned past ~45 degrees: keep the face to follow it (`FaceTrack`).
    func followingTemplate(_ image: RGBImage, box: FaceBox) -> GreyImage? {
        FaceTrack.template(image, box: box)
    }
}

extension FaceEngineError {
    /// `.modelUnreadable` with the bridge's message (file paths only), or `otherwise` when it left none.
    init(modelLoadMessage message: [CChar], otherwise: String) {
        let text = String(decoding: message.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        self.init(.modelUnreadable, text.isEmpty ? otherwise : text)
    }

    static func from(_ status: sv_dlib_status) -> FaceEngineError {
        switch status {
        case SV_DLIB_ERR_ARGUMENT: FaceEngineError(.invalidArgument, "invalid argument to the face engine")
        case SV_DLIB_ERR_MEMORY: FaceEngineError(.internalError, "the face engine ran out of memory")
        case SV_DLIB_ERR_MODEL: FaceEngineError(.modelUnreadable, "the dlib models could not be loaded")
        default: FaceEngineError(.internalError, "the face engine failed")
        }
    }
}
