import CSimverifyJPEGTestSupport
import SimverifyCore
import Testing

@testable import SimverifyFaceEngine

@Suite("EXIF orientation")
struct EXIFOrientationTests {
    /// An APP1 segment holding only an orientation tag.
    static func app1(orientation: UInt16, littleEndian: Bool) -> [UInt8] {
        func u16(_ v: UInt16) -> [UInt8] {
            littleEndian ? [UInt8(v & 0xFF), UInt8(v >> 8)] : [UInt8(v >> 8), UInt8(v & 0xFF)]
        }
        func u32(_ v: UInt32) -> [UInt8] {
            littleEndian
                ? u16(UInt16(v & 0xFFFF)) + u16(UInt16(v >> 16)) : u16(UInt16(v >> 16)) + u16(UInt16(v & 0xFFFF))
        }
        var tiff: [UInt8] = littleEndian ? [0x49, 0x49] : [0x4D, 0x4D]
        tiff += u16(42) + u32(8)  // IFD0 at offset 8
        tiff += u16(1)  // one entry
        tiff += u16(0x0112) + u16(3) + u32(1) + u16(orientation) + [0, 0]
        tiff += u32(0)  // no next IFD
        let body: [UInt8] = Array("Exif".utf8) + [0, 0] + tiff
        let length = body.count + 2
        return [0xFF, 0xE1, UInt8(length >> 8), UInt8(length & 0xFF)] + body
    }

    /// A JPEG with an EXIF segment inserted right after SOI.
    static func withOrientation(
        _ jpeg: ZeroizingBuffer,
        _ orientation: UInt16,
        littleEndian: Bool = true
    ) -> ZeroizingBuffer {
        let bytes = jpeg.withUnsafeBytes { Array($0) }
        let tagged =
            Array(bytes[0..<2]) + app1(orientation: orientation, littleEndian: littleEndian) + Array(bytes[2...])
        return tagged.withUnsafeBytes { ZeroizingBuffer(copying: $0) }
    }

    @Test(arguments: [true, false])
    func readsTheTagInBothByteOrders(littleEndian: Bool) throws {
        let jpeg = try TestImages.encode(try TestImages.solid(width: 8, height: 8, value: 50), mode: SVT_JPEG_BASELINE)
        for value: UInt16 in 1...8 {
            let tagged = Self.withOrientation(jpeg, value, littleEndian: littleEndian)
            #expect(tagged.withUnsafeBytes { EXIFOrientation.read(fromJPEG: $0) } == Int(value))
        }
    }

    @Test func malformedOrMissingEXIFMeansUpright() {
        let cases: [[UInt8]] = [
            [0xFF, 0xD8, 0xFF, 0xD9],
            [0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x40] + Array("Exif".utf8),  // length past the end
            [0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x10] + Array("Exif".utf8) + [
                0, 0, 0x49, 0x49, 42, 0, 0xFF, 0xFF, 0xFF, 0x7F,
            ],
            Array(Self.app1(orientation: 9, littleEndian: true)),
        ]
        for bytes in cases {
            #expect(bytes.withUnsafeBytes { EXIFOrientation.read(fromJPEG: $0) } == 1)
        }
    }

    /// Where stored pixel (sx, sy) of a w x h image lands when shown upright (EXIF 2.32 definitions).
    static func displayed(_ orientation: Int, sx: Int, sy: Int, w: Int, h: Int) -> (Int, Int) {
        switch orientation {
        case 2: (w - 1 - sx, sy)
        case 3: (w - 1 - sx, h - 1 - sy)
        case 4: (sx, h - 1 - sy)
        case 5: (sy, sx)
        case 6: (h - 1 - sy, sx)
        case 7: (h - 1 - sy, w - 1 - sx)
        case 8: (sy, w - 1 - sx)
        default: (sx, sy)
        }
    }

    @Test(arguments: 1...8)
    func reorientsPixels(orientation: Int) throws {
        let (w, h) = (5, 3)
        let buffer = ZeroizingBuffer(count: w * h * 3)
        buffer.withUnsafeMutableBytes { p in
            for i in 0..<(w * h) {
                p[i * 3] = UInt8(i)
                p[i * 3 + 1] = 7
                p[i * 3 + 2] = UInt8(100 + i)
            }
        }
        let turned = try RGBImage(width: w, height: h, pixels: buffer).reoriented(orientation)
        let swapped = orientation >= 5
        #expect(turned.width == (swapped ? h : w) && turned.height == (swapped ? w : h))
        turned.pixels.withUnsafeBytes { p in
            for sy in 0..<h {
                for sx in 0..<w {
                    let (dx, dy) = Self.displayed(orientation, sx: sx, sy: sy, w: w, h: h)
                    #expect(p[(dy * turned.width + dx) * 3] == UInt8(sy * w + sx))
                }
            }
        }
    }

    @Test func decoderAppliesTheOrientation() throws {
        let photo = try TestImages.decode(TestPaths.face("wm_lisa__selfie1.jpg"))
        let jpeg = try TestImages.encode(photo, mode: SVT_JPEG_BASELINE)
        let upright = try JPEGDecoder().decode(jpeg)
        for orientation in 2...8 {
            let decoded = try JPEGDecoder().decode(Self.withOrientation(jpeg, UInt16(orientation)))
            let expected = try upright.reoriented(orientation)
            #expect(decoded.width == expected.width && decoded.height == expected.height)
            #expect(TestImages.meanAbsoluteDifference(decoded, expected) == 0)
        }
    }
}
