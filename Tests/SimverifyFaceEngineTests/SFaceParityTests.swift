import Crypto
import Foundation
import SimverifyCore
import Testing

@testable import SimverifyFaceEngine

/// YuNet's boxes and five points and SFace's features equal OpenCV's own Python bindings on the
/// same folded models (written by scripts/parity-reference-sface.sh with opencv-python-headless
/// 4.6.0.66: the test command writes it on the machine under test and names it in
/// SIMVERIFY_SFACE_PARITY_REFERENCE, since a feature's last digits depend on the CPU's kernels;
/// otherwise Fixtures/parity/sface-reference.json, written on the development machine).
@Suite("Parity with OpenCV's Python bindings (YuNet + SFace)")
struct SFaceParityTests {
    struct Reference: Decodable {
        struct Face: Decodable {
            var box: [Double]
            var points: [Double]
            var score: Double
            var feature: [Double]
        }
        struct Image: Decodable {
            var image: String
            var width: Int
            var height: Int
            var pixels_sha256: String
            var faces: [Face]
        }
        var input_long_side: Int
        var score_threshold: Double
        var images: [Image]
    }

    static let reference: Reference = {
        let path =
            ProcessInfo.processInfo.environment["SIMVERIFY_SFACE_PARITY_REFERENCE"].flatMap { $0.isEmpty ? nil : $0 }
            ?? TestPaths.repository + "/Fixtures/parity/sface-reference.json"
        let url = URL(fileURLWithPath: path)
        return try! JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
    }()

    @Test func theReferenceCoversEveryFixturePhoto() {
        #expect(Self.reference.images.count >= 36)
        #expect(Self.reference.images.reduce(0) { $0 + $1.faces.count } >= 36)
    }

    @Test(arguments: SFaceParityTests.reference.images.map(\.image))
    func matchesOpenCVPython(image name: String) async throws {
        let expected = try #require(Self.reference.images.first { $0.image == name })
        var fullScale = JPEGDecodingLimits.standard
        fullScale.maxDecodedLongSide = 1 << 16
        let image = try TestImages.decode(ParityTests.path(of: name), limits: fullScale)
        #expect(image.width == expected.width && image.height == expected.height)
        let digest = image.pixels.withUnsafeBytes { SHA256.hash(data: $0) }.map { String(format: "%02x", $0) }.joined()
        #expect(digest == expected.pixels_sha256, "decoded pixels differ from PIL's")

        // The reference's steps: one input size, no refinement, every face embedded.
        var policy = FaceDetectionPolicy.standard
        policy.selfieInputSide = Self.reference.input_long_side
        policy.maxInputSide = Self.reference.input_long_side
        policy.minimumDetectionScore = Self.reference.score_threshold
        policy.refineBelowFaceWidth = 0
        policy.maxFaces = 16
        let analysis = try await SharedEngine.get(.sface).analyze(image: image, kind: .selfie, policy: policy)
        #expect(analysis.model == .sface)
        try #require(analysis.faces.count == expected.faces.count)
        for (face, reference) in zip(analysis.faces, expected.faces) {
            let box = [
                reference.box[0], reference.box[1], reference.box[0] + reference.box[2],
                reference.box[1] + reference.box[3],
            ]
            let ours = [face.box.left, face.box.top, face.box.right + 1, face.box.bottom + 1].map(Double.init)
            #expect(zip(ours, box).allSatisfy { abs($0 - $1) <= 1 }, "box \(ours) against \(box)")
            let points = face.landmarks.flatMap { [$0.x, $0.y] }
            let pointError = zip(points, reference.points).map { abs($0 - $1) }.max() ?? .infinity
            #expect(pointError <= 0.01, "five points differ by \(pointError) px")
            #expect(abs(face.confidence - reference.score) <= 1e-4)
            let values = try #require(face.embedding?.values)
            let worst = zip(values, reference.feature).map { abs(Double($0) - $1) }.max() ?? .infinity
            #expect(worst <= 1e-4, "feature differs by \(worst)")
        }
    }
}
