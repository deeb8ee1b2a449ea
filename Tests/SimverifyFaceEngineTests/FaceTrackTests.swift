import SimverifyCore
import Testing

@testable import SimverifyFaceEngine

/// Following a face by correlation (`FaceTrack`), on a real photo moved by known amounts.
@Suite("Following a face between frames")
struct FaceTrackTests {
    /// `image` moved by (`dx`, `dy`) pixels, the uncovered edge repeating the border.
    static func shifted(_ image: RGBImage, dx: Int, dy: Int) throws -> RGBImage {
        let out = ZeroizingBuffer(count: image.pixels.count)
        let (width, height, stride) = (image.width, image.height, image.stride)
        image.pixels.withUnsafeBytes { source in
            out.withUnsafeMutableBytes { target in
                for y in 0..<height {
                    let sy = min(max(y - dy, 0), height - 1)
                    for x in 0..<width {
                        let sx = min(max(x - dx, 0), width - 1)
                        for c in 0..<3 { target[y * stride + x * 3 + c] = source[sy * stride + sx * 3 + c] }
                    }
                }
            }
        }
        return try RGBImage(width: width, height: height, pixels: out)
    }

    @Test func aMovedFaceIsFoundWhereItWent() async throws {
        let image = try TestImages.decode(TestPaths.shared + "/fixtures/liveness/aws_office_pose/001.jpg")
        let analysis = try await SharedEngine.get(.dlib).analyze(image: image, kind: .selfie, embeddings: .none)
        let box = try #require(analysis.largestFace?.box)
        let template = FaceTrack.template(image, box: box)
        // Where it was: the same box, a perfect correlation.
        let still = try #require(FaceTrack.follow(template, from: box, in: image))
        #expect(still.box == box && still.score > 0.99)
        // Moved by up to a third of its width, each way: found within one template step
        // (box width / 32 pixels) of where it went, and well above the threshold.
        let step = Double(box.width) / Double(FaceTrack.side)
        for (dx, dy) in [(box.width / 4, 0), (-box.width / 4, box.width / 8), (box.width / 8, -box.width / 5)] {
            let moved = try Self.shifted(image, dx: dx, dy: dy)
            let found = try #require(FaceTrack.follow(template, from: box, in: moved))
            #expect(abs(Double(found.box.left - box.left - dx)) <= step + 1, "\(dx),\(dy): \(found.box)")
            #expect(abs(Double(found.box.top - box.top - dy)) <= step + 1, "\(dx),\(dy): \(found.box)")
            #expect(found.box.width == box.width && found.score > 0.9, "\(dx),\(dy): \(found.score)")
        }
        // A box that would leave the picture is no answer.
        let edge = FaceBox(left: 0, top: 0, right: box.width - 1, bottom: box.height - 1)
        let corner = try Self.shifted(image, dx: -box.left, dy: -box.top)
        let atEdge = FaceTrack.follow(FaceTrack.template(corner, box: edge), from: edge, in: corner)
        #expect(atEdge.map { $0.box.left >= 0 && $0.box.top >= 0 } ?? true)
        // A flat picture correlates with nothing.
        let flat = try TestImages.solid(width: image.width, height: image.height, value: 128)
        #expect(FaceTrack.follow(template, from: box, in: flat) == nil)
    }
}
