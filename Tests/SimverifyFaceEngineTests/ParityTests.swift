import Crypto
import Foundation
import Testing

@testable import SimverifyFaceEngine

/// Boxes, landmarks and embeddings equal dlib's own Python bindings (Fixtures/parity/reference.json,
/// written by scripts/parity-reference.sh with dlib-bin and face_recognition 1.3.0).
@Suite("Parity with dlib's Python bindings")
struct ParityTests {
    struct Reference: Decodable {
        struct Face: Decodable {
            var box: [Int]
            var landmarks: [[Int]]
            var embedding: [Double]
        }
        struct Image: Decodable {
            var image: String
            var width: Int
            var height: Int
            var pixels_sha256: String
            var faces: [Face]
        }
        var upsample: Int
        var images: [Image]
    }

    static let reference: Reference = {
        let url = URL(fileURLWithPath: TestPaths.repository + "/Fixtures/parity/reference.json")
        return try! JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
    }()

    static func path(of name: String) -> String {
        name.hasPrefix("samples/")
            ? TestPaths.samples + "/" + name.dropFirst("samples/".count) : TestPaths.shared + "/" + name
    }

    @Test func theReferenceCoversEveryFixturePhoto() {
        #expect(Self.reference.images.count >= 36)
        #expect(Self.reference.images.reduce(0) { $0 + $1.faces.count } >= 36)
    }

    @Test(arguments: ParityTests.reference.images.map(\.image))
    func matchesDlibPython(image name: String) async throws {
        let expected = try #require(Self.reference.images.first { $0.image == name })
        var fullScale = JPEGDecodingLimits.standard
        fullScale.maxDecodedLongSide = 1 << 16
        let image = try TestImages.decode(Self.path(of: name), limits: fullScale)
        #expect(image.width == expected.width && image.height == expected.height)
        let digest = image.pixels.withUnsafeBytes { SHA256.hash(data: $0) }.map { String(format: "%02x", $0) }.joined()
        #expect(digest == expected.pixels_sha256, "decoded pixels differ from PIL's")

        var policy = FaceDetectionPolicy.standard
        policy.fixedUpsampling = Self.reference.upsample
        policy.maxFaces = 16
        let analysis = try await SharedEngine.get().analyze(image: image, kind: .selfie, policy: policy)
        try #require(analysis.faces.count == expected.faces.count)
        for (face, reference) in zip(analysis.faces, expected.faces) {
            #expect([face.box.left, face.box.top, face.box.right, face.box.bottom] == reference.box)
            #expect(face.landmarks.map { [Int($0.x), Int($0.y)] } == reference.landmarks)
            let values = try #require(face.embedding?.values)
            let worst = zip(values, reference.embedding).map { abs(Double($0) - $1) }.max() ?? .infinity
            #expect(worst <= 1e-4, "largest embedding difference \(worst)")
        }
    }
}
