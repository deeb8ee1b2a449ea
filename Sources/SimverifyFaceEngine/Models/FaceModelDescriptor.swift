import CSimverifyOpenCV
import Crypto
import Foundation
import SimverifyCore

/// An operator's own face recogniser, described so that the engine can run it without code
/// changes: a JSON file beside (or pointing to) an ONNX network. YuNet (pinned) still finds the
/// face and its five points; the descriptor says how to cut the face out for the network and how
/// to compare what comes back. docs/DECISIONS.md shows an example.
///
/// ```json
/// {
///   "name": "acme-face-3",
///   "file": "acme-face-3.onnx",
///   "sha256": "…64 hex digits…",
///   "input": { "width": 112, "height": 112, "colourOrder": "rgb", "mean": [127.5, 127.5, 127.5], "scale": [0.0078125, 0.0078125, 0.0078125] },
///   "alignment": [[38.29, 51.70], [73.53, 51.50], [56.03, 71.74], [41.55, 92.37], [70.73, 92.20]],
///   "embedding": { "size": 512, "distance": "cosine" },
///   "threshold": 0.55
/// }
/// ```
public struct FaceModelDescriptor: Sendable, Hashable, Codable {
    /// What the operator calls the model: goes into audit records' model version.
    public var name: String
    /// The ONNX file: absolute, or relative to the descriptor's directory.
    public var file: String
    /// The file's SHA-256, hex: checked before every load.
    public var sha256: String
    /// What the network takes.
    public var input: Input
    /// Where the five points (YuNet's order: the eye on the image's left, the other eye, the nose
    /// tip, the mouth corner on the image's left, the other) go in the network's input, in pixels.
    public var alignment: [[Double]]
    /// What the network gives.
    public var embedding: Embedding
    /// The distance at or below which two faces are the same person, from the operator's own
    /// calibration: the default of `compare`, `eval` and the liveness tools. The server decides
    /// with its configuration's policy, which must name the `onnx` model and set its own.
    public var threshold: Double

    /// The network's input.
    public struct Input: Sendable, Hashable, Codable {
        /// Width and height in pixels, 16-1024.
        public var width: Int
        public var height: Int
        /// "rgb" or "bgr": the order of the input's three channels.
        public var colourOrder: String
        /// Subtracted from each channel's 0-255 value, in the network's channel order.
        public var mean: [Double]
        /// Then multiplied by this, per channel (1/127.5 for -1…1; 1/255 for 0…1).
        public var scale: [Double]
    }

    /// The network's output.
    public struct Embedding: Sendable, Hashable, Codable {
        /// Number of values, 2-4096.
        public var size: Int
        /// "cosine" or "euclidean".
        public var distance: String
    }

    /// Where the descriptor was read from: relative `file` paths start there.
    public private(set) var directory: String = "."

    private enum CodingKeys: String, CodingKey {
        case name, file, sha256, input, alignment, embedding, threshold
    }

    /// Reads and checks a descriptor file (not yet the ONNX file: `verifyFile()` does that).
    /// - Throws: `FaceEngineError` `.modelMissing` for an unreadable file, `.invalidArgument`
    ///   naming the field that is wrong.
    public static func load(from path: String) throws -> FaceModelDescriptor {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FaceEngineError(.modelMissing, "model descriptor missing: \(path)")
        }
        var descriptor: FaceModelDescriptor
        do {
            descriptor = try JSONDecoder().decode(FaceModelDescriptor.self, from: data)
        } catch let DecodingError.keyNotFound(key, _) {
            throw FaceEngineError(.invalidArgument, "model descriptor \(path): missing field \(key.stringValue)")
        } catch {
            throw FaceEngineError(.invalidArgument, "model descriptor \(path) is not JSON of the descriptor's shape")
        }
        descriptor.directory =
            (path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent
        try descriptor.validate(path: path)
        return descriptor
    }

    /// Checks every field's range.
    func validate(path: String) throws {
        func fail(_ problem: String) -> FaceEngineError {
            FaceEngineError(.invalidArgument, "model descriptor \(path): \(problem)")
        }
        guard !self.name.isEmpty, self.name.count <= 64,
            self.name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) })
        else { throw fail("name must be 1-64 letters, digits, '-', '_' or '.'") }
        guard !self.file.isEmpty else { throw fail("file is empty") }
        guard self.sha256.count == 64, self.sha256.allSatisfy(\.isHexDigit) else {
            throw fail("sha256 must be 64 hex digits")
        }
        let sides = Int(SV_CV_MIN_RECOGNIZER_SIDE)...Int(SV_CV_MAX_RECOGNIZER_SIDE)
        guard sides.contains(self.input.width), sides.contains(self.input.height) else {
            throw fail("input width and height must be \(sides.lowerBound)-\(sides.upperBound)")
        }
        guard ["rgb", "bgr"].contains(self.input.colourOrder) else {
            throw fail("input.colourOrder must be \"rgb\" or \"bgr\"")
        }
        guard self.input.mean.count == 3, self.input.mean.allSatisfy(\.isFinite) else {
            throw fail("input.mean must be 3 numbers")
        }
        guard self.input.scale.count == 3, self.input.scale.allSatisfy({ $0.isFinite && $0 != 0 }) else {
            throw fail("input.scale must be 3 non-zero numbers")
        }
        guard self.alignment.count == 5, self.alignment.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isFinite) })
        else {
            throw fail("alignment must be 5 points of [x, y]")
        }
        guard (2...EmbeddingSpace.maxDimension).contains(self.embedding.size) else {
            throw fail("embedding.size must be 2-\(EmbeddingSpace.maxDimension)")
        }
        guard FaceEmbedding.Metric(rawValue: self.embedding.distance) != nil else {
            throw fail("embedding.distance must be \"cosine\" or \"euclidean\"")
        }
        guard self.threshold.isFinite, self.threshold > 0 else { throw fail("threshold must be a positive number") }
    }

    /// The ONNX file's full path.
    public var filePath: String {
        self.file.hasPrefix("/") ? self.file : self.directory + "/" + self.file
    }

    /// Checks that the ONNX file exists and has the descriptor's SHA-256.
    /// - Throws: `FaceEngineError` `.modelMissing` or `.modelMismatch`, naming the file.
    public func verifyFile() throws {
        try FaceModelFiles.verify(path: self.filePath, sha256: self.sha256.lowercased())
    }

    /// What tells this descriptor from any other: the SHA-256 of its fields (file hash included)
    /// in a canonical encoding, hex. Templates and audit records carry it.
    public var fingerprint: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var canonical = self
        canonical.file = (self.file as NSString).lastPathComponent
        canonical.sha256 = self.sha256.lowercased()
        let data = (try? encoder.encode(canonical)) ?? Data()
        return SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }

    /// The space its embeddings live in.
    public var space: EmbeddingSpace {
        // validate() has checked the size and distance.
        try! EmbeddingSpace.operatorModel(
            dimension: self.embedding.size,
            metric: FaceEmbedding.Metric(rawValue: self.embedding.distance)!,
            fingerprint: self.fingerprint
        )
    }

    /// The policy the command-line tools use by default: the shipped rules with the descriptor's
    /// threshold and no review band.
    public var suggestedPolicy: MatchPolicy {
        var policy = MatchPolicy.standard
        policy.version = "\(self.name)-descriptor-threshold"
        policy.model = .onnx
        policy.threshold = self.threshold
        policy.reviewBand = 0
        return policy
    }
}
