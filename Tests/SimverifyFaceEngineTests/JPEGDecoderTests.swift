import CSimverifyJPEGTestSupport
import SimverifyCore
import Testing

@testable import SimverifyFaceEngine

@Suite("JPEG decoding")
struct JPEGDecoderTests {
    static let photo = TestPaths.face("london_005__neutral.jpg")

    @Test func decodesABaselineFixturePhoto() throws {
        let image = try TestImages.decode(Self.photo)
        #expect(image.width == 600 && image.height == 600)
        #expect(image.pixels.count == 600 * 600 * 3)
    }

    @Test(arguments: [
        (SVT_JPEG_PROGRESSIVE, 2.0), (SVT_JPEG_CMYK_ADOBE, 2.5), (SVT_JPEG_BASELINE, 2.0),
    ])
    func decodesColourVariantsToTheSamePixels(mode: svt_jpeg_mode, tolerance: Double) throws {
        let original = try TestImages.decode(Self.photo)
        let variant = try JPEGDecoder().decode(try TestImages.encode(original, mode: mode))
        #expect(variant.width == original.width && variant.height == original.height)
        #expect(TestImages.meanAbsoluteDifference(original, variant) < tolerance)
    }

    @Test func decodesGreyscaleToEqualChannels() throws {
        let original = try TestImages.decode(Self.photo)
        let grey = try JPEGDecoder().decode(try TestImages.encode(original, mode: SVT_JPEG_GRAYSCALE))
        #expect(grey.width == 600 && grey.height == 600)
        grey.pixels.withUnsafeBytes { p in
            for i in stride(from: 0, to: p.count, by: 3 * 997) {
                #expect(p[i] == p[i + 1] && p[i + 1] == p[i + 2])
            }
        }
    }

    @Test func scalesLargeImagesDownWithDCTScaling() throws {
        let original = try TestImages.decode(Self.photo)
        var limits = JPEGDecodingLimits.standard
        limits.maxDecodedLongSide = 300
        let small = try JPEGDecoder(limits: limits).decode(try TestImages.encode(original, mode: SVT_JPEG_BASELINE))
        #expect(small.width == 300 && small.height == 300)
    }

    // MARK: Bad input: each a typed error, in bounded time and memory.

    @Test func emptyInputIsRefused() throws {
        #expect(throws: FaceEngineError.self) { try JPEGDecoder().decode(ZeroizingBuffer(count: 0)) }
        #expect(code(of: ZeroizingBuffer(count: 0)) == .emptyImage)
    }

    @Test func pngBytesAreNotJPEG() {
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13]
        png += Array("IHDR".utf8) + [0, 0, 1, 0, 0, 0, 1, 0, 8, 2, 0, 0, 0]
        #expect(code(of: buffer(png)) == .notJPEG)
    }

    @Test func textBytesAreNotJPEG() {
        #expect(code(of: buffer(Array("national id 900101-1234567, please verify\n".utf8))) == .notJPEG)
        #expect(code(of: buffer([0xFF, 0xD8])) == .notJPEG)
    }

    @Test func truncatedJPEGIsRefused() throws {
        let bytes = try TestImages.bytes(Self.photo)
        for fraction in [0.1, 0.5, 0.9] {
            let cut = Int(Double(bytes.count) * fraction)
            let truncated = bytes.withUnsafeBytes {
                ZeroizingBuffer(copying: UnsafeRawBufferPointer(rebasing: $0[0..<cut]))
            }
            #expect(code(of: truncated) == .truncatedImage)
        }
        let headerOnly = bytes.withUnsafeBytes {
            ZeroizingBuffer(copying: UnsafeRawBufferPointer(rebasing: $0[0..<20]))
        }
        #expect([.truncatedImage, .corruptImage].contains(code(of: headerOnly)))
    }

    @Test func hugeDeclaredDimensionsAreRefusedBeforeDecoding() throws {
        let bytes = try TestImages.bytes(Self.photo)
        var patched = bytes.withUnsafeBytes { Array($0) }
        let sof = try #require(Self.startOfFrame(in: patched))
        // SOF: FF C0 len(2) precision(1) height(2) width(2)
        patched[sof + 5] = 0xEA
        patched[sof + 6] = 0x60  // 60000
        patched[sof + 7] = 0xEA
        patched[sof + 8] = 0x60
        let unlimited = JPEGDecoder(
            limits: .init(maxPixels: .max, maxDecodedLongSide: 1600, maxScans: 64, maxDecoderMemory: 1 << 28)
        )
        let header = try buffer(patched).withUnsafeBytes { try unlimited.header(of: $0) }
        #expect(header.width == 60000 && header.height == 60000)
        let clock = ContinuousClock()
        let start = clock.now
        #expect(code(of: buffer(patched)) == .imageTooLarge)
        #expect(clock.now - start < .seconds(1))
    }

    @Test func aOnePixelImageDecodes() throws {
        let pixel = try TestImages.solid(width: 1, height: 1, value: 200)
        let decoded = try JPEGDecoder().decode(try TestImages.encode(pixel, mode: SVT_JPEG_BASELINE))
        #expect(decoded.width == 1 && decoded.height == 1)
        decoded.pixels.withUnsafeBytes { #expect(abs(Int($0[0]) - 200) <= 2) }
    }

    @Test func corruptEntropyDataIsRefused() throws {
        let bytes = try TestImages.bytes(Self.photo)
        var corrupt = bytes.withUnsafeBytes { Array($0) }
        let scan = try #require(Self.startOfScan(in: corrupt))
        // Overwrite the middle of the entropy-coded data with markers and garbage.
        let middle = (scan + corrupt.count) / 2
        for i in 0..<64 { corrupt[middle + i] = i % 2 == 0 ? 0xFF : UInt8(0xC0 + i % 8) }
        #expect([.corruptImage, .truncatedImage].contains(code(of: buffer(corrupt))))
    }

    @Test func thousandsOfScansAreRefusedQuickly() throws {
        let source = try TestImages.crop(try TestImages.decode(Self.photo), x: 200, y: 200, width: 64, height: 64)
        let manyScans = try TestImages.encode(source, mode: SVT_JPEG_MANY_SCANS)
        #expect(svt_jpeg_many_scans_count() > 2000)
        let clock = ContinuousClock()
        let start = clock.now
        #expect(code(of: manyScans) == .tooManyScans)
        #expect(clock.now - start < .seconds(2))
        // The same file is a valid JPEG: with no scan limit it decodes.
        var limits = JPEGDecodingLimits.standard
        limits.maxScans = 10_000
        let decoded = try JPEGDecoder(limits: limits).decode(manyScans)
        #expect(decoded.width == 64 && TestImages.meanAbsoluteDifference(source, decoded) < 3)
    }

    @Test func decoderMemoryLimitIsEnforced() throws {
        let original = try TestImages.decode(Self.photo)
        let progressive = try TestImages.encode(original, mode: SVT_JPEG_PROGRESSIVE)
        var limits = JPEGDecodingLimits.standard
        limits.maxDecoderMemory = 64 << 10
        #expect(code(of: progressive, limits: limits) == .decoderMemoryLimit)
    }

    // MARK: Helpers

    private func buffer(_ bytes: [UInt8]) -> ZeroizingBuffer {
        bytes.withUnsafeBytes { ZeroizingBuffer(copying: $0) }
    }

    private func code(of bytes: ZeroizingBuffer, limits: JPEGDecodingLimits = .standard) -> FaceEngineError.Code? {
        do {
            _ = try JPEGDecoder(limits: limits).decode(bytes)
            return nil
        } catch let error as FaceEngineError {
            return error.code
        } catch {
            return nil
        }
    }

    static func startOfFrame(in bytes: [UInt8]) -> Int? {
        (2..<(bytes.count - 1)).first { bytes[$0] == 0xFF && (bytes[$0 + 1] == 0xC0 || bytes[$0 + 1] == 0xC2) }
    }

    static func startOfScan(in bytes: [UInt8]) -> Int? {
        (2..<(bytes.count - 1)).first { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xDA }
    }
}
