import Foundation
import SimverifyCore
import Testing

@Suite("Zeroizing buffer")
struct ZeroizingBufferTests {
    @Test func startsZeroedAndZeroizes() {
        let buffer = ZeroizingBuffer(count: 64)
        #expect(buffer.withUnsafeBytes { $0.allSatisfy { $0 == 0 } })
        buffer.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 0xAB) }
        #expect(buffer.withUnsafeBytes { $0.allSatisfy { $0 == 0xAB } })
        buffer.zeroize()
        #expect(buffer.withUnsafeBytes { $0.allSatisfy { $0 == 0 } })
    }

    @Test func readsAFileAndRefusesOneTooLarge() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("zb-\(UUID())").path
        try Data([1, 2, 3, 4, 5]).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let buffer = try ZeroizingBuffer(contentsOfFile: path, maxBytes: 5)
        #expect(buffer.withUnsafeBytes { Array($0) } == [1, 2, 3, 4, 5])
        #expect(throws: SimverifyError.self) { try ZeroizingBuffer(contentsOfFile: path, maxBytes: 4) }
        #expect(throws: SimverifyError.self) { try ZeroizingBuffer(contentsOfFile: "/nonexistent/x", maxBytes: 4) }
        #expect(throws: SimverifyError.self) { try ZeroizingBuffer(contentsOfFile: "/tmp", maxBytes: 4) }
    }

    @Test func embeddingDistanceAndValidation() throws {
        let a = try FaceEmbedding([Float](repeating: 0, count: 128), model: .dlib)
        var values = [Float](repeating: 0, count: 128)
        values[0] = 3
        values[5] = 4
        let b = try FaceEmbedding(values, model: .dlib)
        #expect(a.distance(to: b) == 5)
        #expect(throws: SimverifyError.self) { try FaceEmbedding([1, 2, 3], model: .dlib) }
        // Cosine (SFace): scale does not matter, orthogonal is 1, opposite is 2; all zeros is refused.
        let c = try FaceEmbedding(values, model: .sface)
        let scaled = try FaceEmbedding(values.map { $0 * 7 }, model: .sface)
        #expect(abs(c.distance(to: scaled)) < 1e-12)
        var other = [Float](repeating: 0, count: 128)
        other[1] = 2
        #expect(abs(c.distance(to: try FaceEmbedding(other, model: .sface)) - 1) < 1e-12)
        #expect(abs(c.distance(to: try FaceEmbedding(values.map { -$0 }, model: .sface)) - 2) < 1e-12)
        #expect(throws: SimverifyError.self) { try FaceEmbedding([Float](repeating: 0, count: 128), model: .sface) }
        // Embeddings of different models never match.
        #expect(b.distance(to: c) == .infinity)
        values[1] = .nan
        #expect(throws: SimverifyError.self) { try FaceEmbedding(values, model: .dlib) }
        #expect(!"\(b)".contains("3.0"))
    }
}
