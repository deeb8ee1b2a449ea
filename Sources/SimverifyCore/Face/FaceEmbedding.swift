/// A face embedding (128-D for SFace and dlib): biometric data, tied to the space of the model
/// that made it.
///
/// Never persisted by the server and never logged (DESIGN.md, invariant 2); it leaves the
/// process only sealed. `description` deliberately prints no values.
public struct FaceEmbedding: Sendable, Hashable, CustomStringConvertible {
    /// The number of dimensions of dlib's and SFace's face embeddings.
    public static let dimension = 128

    /// How two embeddings of a model are compared.
    public enum Metric: String, Sendable, Hashable, Codable {
        /// Euclidean distance (dlib: 0.6 at its published operating point).
        case euclidean
        /// One minus the cosine similarity, 0-2 (SFace).
        case cosine
    }

    /// The embedding's components.
    public let values: [Float]
    /// The space of the model that made it.
    public let space: EmbeddingSpace

    /// The model family that made it.
    public var model: FaceModel { self.space.model }

    /// Creates an embedding.
    /// - Parameters:
    ///   - values: Exactly `space.dimension` finite components.
    ///   - space: The space of the model that computed them.
    /// - Throws: `SimverifyError` with code `.invalidArgument` for any other count or a non-finite value.
    public init(_ values: [Float], space: EmbeddingSpace) throws {
        guard values.count == space.dimension, values.allSatisfy(\.isFinite) else {
            throw SimverifyError(
                .invalidArgument,
                "a face embedding of \(space) has \(space.dimension) finite components"
            )
        }
        if space.metric == .cosine {
            guard values.contains(where: { $0 != 0 }) else {
                throw SimverifyError(.invalidArgument, "a cosine embedding cannot be all zeros")
            }
        }
        self.values = values
        self.space = space
    }

    /// Creates an embedding of a built-in model (SFace or dlib).
    /// - Throws: `SimverifyError` `.invalidArgument` for a bad count or value, or for `.onnx`, whose
    ///   space only its descriptor knows.
    public init(_ values: [Float], model: FaceModel) throws {
        guard let space = EmbeddingSpace.builtIn(model) else {
            throw SimverifyError(.invalidArgument, "an operator's model's embedding needs its descriptor's space")
        }
        try self.init(values, space: space)
    }

    /// The distance to another embedding under the model's metric: small for the same person.
    /// Embeddings of different spaces are infinitely far apart: they can never match.
    public func distance(to other: FaceEmbedding) -> Double {
        guard self.space == other.space else { return .infinity }
        switch self.space.metric {
        case .euclidean:
            var sum = 0.0
            for i in 0..<self.values.count {
                let d = Double(self.values[i]) - Double(other.values[i])
                sum += d * d
            }
            return sum.squareRoot()
        case .cosine:
            var dot = 0.0
            var a = 0.0
            var b = 0.0
            for i in 0..<self.values.count {
                let x = Double(self.values[i])
                let y = Double(other.values[i])
                dot += x * y
                a += x * x
                b += y * y
            }
            return 1 - dot / (a.squareRoot() * b.squareRoot())
        }
    }

    /// The mean of several embeddings of one model (multi-frame fusion); cosine embeddings are
    /// normalised first so that each counts the same. Nil for none or for mixed spaces.
    public static func mean(_ embeddings: [FaceEmbedding]) -> FaceEmbedding? {
        guard let space = embeddings.first?.space, embeddings.allSatisfy({ $0.space == space }) else { return nil }
        var sum = [Double](repeating: 0, count: space.dimension)
        for embedding in embeddings {
            var norm = 1.0
            if space.metric == .cosine {
                norm = embedding.values.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
            }
            for i in 0..<space.dimension { sum[i] += Double(embedding.values[i]) / norm }
        }
        return try? FaceEmbedding(sum.map { Float($0 / Double(embeddings.count)) }, space: space)
    }

    public var description: String { "FaceEmbedding(\(self.space.dimension)-D, redacted)" }
}
