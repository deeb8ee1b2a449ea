import Foundation
import SimverifyCore
import Testing

@testable import SimverifyFaceEngine

/// The screen cue's spectrum measure on patches whose answer is known.
@Suite("Screen pattern")
struct ScreenPatternTests {
    /// A face-like patch: a bright oval on a darker ground, a soft gradient and a little
    /// deterministic grain (a camera's noise).
    static func face(side n: Int) -> [Double] {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        return (0..<(n * n)).map { index in
            let x = Double(index % n) / Double(n) - 0.5
            let y = Double(index / n) / Double(n) - 0.5
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let grain = Double(state >> 40) / Double(1 << 24) - 0.5
            return 90 + 80 * exp(-(x * x / 0.08 + y * y / 0.12)) + 30 * y + 3 * grain
        }
    }

    @Test func aPlainFaceHasNoPeakAndADisplaysGridHasOne() {
        for n in [16, 32, 64] {
            let plain = Self.face(side: n)
            // The same face shown through a display's grid as a camera beats with it: a fine
            // grating at an angle, 8 % deep.
            let shown = plain.indices.map { index -> Double in
                let x = Double(index % n)
                let y = Double(index / n)
                return plain[index] * (1 + 0.08 * sin(2 * Double.pi * (x * cos(0.4) + y * sin(0.4)) / 3.3))
            }
            let a = ScreenPattern.peakExcess(patch: plain, side: n)
            let b = ScreenPattern.peakExcess(patch: shown, side: n)
            #expect(a < 6 && b > 6, "side \(n): plain \(a), shown \(b)")
        }
    }

    @Test func aFaceTooNearTheEdgeOrTooSmallIsNotMeasured() throws {
        let image = try RGBImage(width: 100, height: 100, pixels: ZeroizingBuffer(count: 100 * 100 * 3))
        #expect(ScreenPattern.peakExcess(image, box: FaceBox(left: 70, top: 10, right: 140, bottom: 80)) == nil)
        #expect(ScreenPattern.peakExcess(image, box: FaceBox(left: 40, top: 40, right: 50, bottom: 50)) == nil)
        #expect(ScreenPattern.peakExcess(image, box: FaceBox(left: 10, top: 10, right: 90, bottom: 90)) != nil)
    }
}
