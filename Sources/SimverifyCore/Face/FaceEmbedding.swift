/// A 128-dimensional face embedding: biometric data.
///
/// Never persisted by the server and never logged (DESIGN.md, invariant 2); it leaves the
/// process only sealed. `description` deliberately prints no values.
public struct FaceEmbedding: Sendable, Hashable, CustomStringConvertible {
    /// The number of dimensions of dlib's face embedding.
    public static let dimension = 128

    /// The embedding's components.
    public let values: [Float]

    /// Creates an embedding.
    /// - Parameter values: Exactly `FaceEmbedding.dimension` finite components.
    /// - Throws: `SimverifyError` with code `.invalidArgument` for any other count or a non-finite value.
    public init(_ values: [Float]) throws {
        guard values.count == Self.dimension, values.allSatisfy(\.isFinite) else {
            throw SimverifyError(.invalidArgument, "a face embedding has \(Self.dimension) finite components")
        }
        self.values = values
    }

    /// The Euclidean distance to another embedding: small for the same person.
    public func distance(to other: FaceEmbedding) -> Double {
        var sum = 0.0
        for i in 0..<Self.dimension {
            let d = Double(self.values[i]) - Double(other.values[i])
            sum += d * d
        }
        return sum.squareRoot()
    }

    public var description: String { "FaceEmbedding(\(Self.dimension)-D, redacted)" }
}
