import CSimverifyJPEGTestSupport
import Foundation
import Logging
import SimverifyCore
import SimverifyFaceEngine

/// Where the test data is: the repository, the shared fixtures beside it, the setup cache.
enum TestPaths {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path
    /// `../shared` beside the repository, or `$SIMVERIFY_SHARED`.
    static let shared: String = {
        if let explicit = ProcessInfo.processInfo.environment["SIMVERIFY_SHARED"], !explicit.isEmpty {
            return explicit
        }
        return URL(fileURLWithPath: repository).deletingLastPathComponent().appendingPathComponent("shared").path
    }()
    static let faces = shared + "/fixtures/faces/images"
    static let liveness = shared + "/fixtures/liveness"
    /// The sample photos `scripts/setup.sh` extracts from the face_recognition sdist.
    static let samples: String = {
        let models = FaceModelFiles.defaultDirectory
        return URL(fileURLWithPath: models).deletingLastPathComponent().appendingPathComponent("samples").path
    }()

    static func face(_ name: String) -> String { faces + "/" + name }

    /// The ID cards scripts/make-id-cards.sh writes (scripts/test.sh runs it first).
    static let idCards: String =
        ProcessInfo.processInfo.environment["SIMVERIFY_ID_CARDS"].flatMap { $0.isEmpty ? nil : $0 }
        ?? FileManager.default.homeDirectoryForCurrentUser.path + "/.cache/simverify/id-cards"
}

enum TestImages {
    /// The bytes of a file, in a zeroizing buffer.
    static func bytes(_ path: String) throws -> ZeroizingBuffer {
        try ZeroizingBuffer(contentsOfFile: path, maxBytes: 64 << 20)
    }

    static func decode(_ path: String, limits: JPEGDecodingLimits = .standard) throws -> RGBImage {
        try JPEGDecoder(limits: limits).decode(try bytes(path))
    }

    /// Re-encodes pixels with the test encoder.
    static func encode(_ image: RGBImage, mode: svt_jpeg_mode, quality: Int32 = 95) throws -> ZeroizingBuffer {
        var out: UnsafeMutablePointer<UInt8>?
        var size = 0
        let status = image.pixels.withUnsafeBytes { pixels in
            svt_jpeg_encode(
                pixels.baseAddress!.assumingMemoryBound(to: UInt8.self),
                UInt32(image.width),
                UInt32(image.height),
                Int32(mode.rawValue),
                quality,
                &out,
                &size
            )
        }
        guard status == 0, let out else { throw TestFailure("test encoder failed") }
        defer { svt_jpeg_free(out) }
        return ZeroizingBuffer(copying: UnsafeRawBufferPointer(start: out, count: size))
    }

    /// A solid-colour image.
    static func solid(width: Int, height: Int, value: UInt8) throws -> RGBImage {
        let buffer = ZeroizingBuffer(count: width * height * 3)
        buffer.withUnsafeMutableBytes { _ = $0.initializeMemory(as: UInt8.self, repeating: value) }
        return try RGBImage(width: width, height: height, pixels: buffer)
    }

    /// A crop of an image.
    static func crop(_ image: RGBImage, x: Int, y: Int, width: Int, height: Int) throws -> RGBImage {
        let buffer = ZeroizingBuffer(count: width * height * 3)
        image.pixels.withUnsafeBytes { source in
            buffer.withUnsafeMutableBytes { target in
                for row in 0..<height {
                    let from = ((y + row) * image.width + x) * 3
                    target.baseAddress!.advanced(by: row * width * 3)
                        .copyMemory(from: source.baseAddress!.advanced(by: from), byteCount: width * 3)
                }
            }
        }
        return try RGBImage(width: width, height: height, pixels: buffer)
    }

    /// Two images side by side on a grey canvas as tall as the taller one.
    static func sideBySide(_ left: RGBImage, _ right: RGBImage) throws -> RGBImage {
        let width = left.width + right.width
        let height = max(left.height, right.height)
        let buffer = ZeroizingBuffer(count: width * height * 3)
        buffer.withUnsafeMutableBytes { target in
            target.initializeMemory(as: UInt8.self, repeating: 128)
            for (image, x0) in [(left, 0), (right, left.width)] {
                image.pixels.withUnsafeBytes { source in
                    for row in 0..<image.height {
                        target.baseAddress!.advanced(by: (row * width + x0) * 3)
                            .copyMemory(
                                from: source.baseAddress!.advanced(by: row * image.stride),
                                byteCount: image.stride
                            )
                    }
                }
            }
        }
        return try RGBImage(width: width, height: height, pixels: buffer)
    }

    /// Nearest-neighbour downscale by an integer factor.
    static func shrink(_ image: RGBImage, by factor: Int) throws -> RGBImage {
        let width = image.width / factor
        let height = image.height / factor
        let buffer = ZeroizingBuffer(count: width * height * 3)
        image.pixels.withUnsafeBytes { source in
            buffer.withUnsafeMutableBytes { target in
                for y in 0..<height {
                    for x in 0..<width {
                        for c in 0..<3 {
                            target[(y * width + x) * 3 + c] = source[((y * factor) * image.width + x * factor) * 3 + c]
                        }
                    }
                }
            }
        }
        return try RGBImage(width: width, height: height, pixels: buffer)
    }

    /// Mean absolute difference per channel between two images of the same size.
    static func meanAbsoluteDifference(_ a: RGBImage, _ b: RGBImage) -> Double {
        precondition(a.width == b.width && a.height == b.height)
        return a.pixels.withUnsafeBytes { pa in
            b.pixels.withUnsafeBytes { pb in
                var sum = 0
                for i in 0..<pa.count { sum += abs(Int(pa[i]) - Int(pb[i])) }
                return Double(sum) / Double(pa.count)
            }
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// One engine of each model for the whole test run: loading a model set takes ~0.3 s and 40-57 MB.
enum SharedEngine {
    private static func make(_ model: FaceModel) -> Result<FaceEngine, Error> {
        Result {
            var configuration = FaceEngineConfiguration(model: model)
            configuration.workers = 2
            configuration.maxQueuedJobs = 1024  // tests run in parallel; refusal is tested on its own pool
            return try FaceEngine(configuration: configuration, logger: Logger(label: "test"))
        }
    }
    private static let dlib = make(.dlib)
    private static let sface = make(.sface)

    /// dlib's engine (the suites written for its HOG levels and landmark order), or SFace's.
    static func get(_ model: FaceModel = .dlib) throws -> FaceEngine {
        switch model {
        case .dlib: try dlib.get()
        case .sface: try sface.get()
        case .onnx:
            throw TestFailure("an operator's model needs a descriptor: OperatorModelTests makes its own engines")
        }
    }
}

extension TestImages {
    /// A box blur of the given radius (a soft, out-of-focus version of the image).
    static func blurred(_ image: RGBImage, radius: Int) throws -> RGBImage {
        let (w, h) = (image.width, image.height)
        let buffer = ZeroizingBuffer(count: image.pixels.count)
        image.pixels.withUnsafeBytes { source in
            buffer.withUnsafeMutableBytes { target in
                for y in 0..<h {
                    for x in 0..<w {
                        for c in 0..<3 {
                            var sum = 0
                            var n = 0
                            for yy in max(0, y - radius)...min(h - 1, y + radius) {
                                for xx in max(0, x - radius)...min(w - 1, x + radius) {
                                    sum += Int(source[(yy * w + xx) * 3 + c])
                                    n += 1
                                }
                            }
                            target[(y * w + x) * 3 + c] = UInt8(sum / n)
                        }
                    }
                }
            }
        }
        return try RGBImage(width: w, height: h, pixels: buffer)
    }
}
