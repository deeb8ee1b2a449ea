import Foundation
import SimverifyCore
import Testing

@testable import SimverifyLiveness

/// Landmarks of a synthetic head: eyes 60 px apart around (cx, cy), nose `yaw`/`pitch` eye
/// distances off the eye midpoint, scaled by `scale`.
func landmarks(cx: Double = 200, cy: Double = 200, yaw: Double = 0, pitch: Double = 0.6, scale: Double = 1) -> [Point2] {
    let d = 60 * scale
    return [
        Point2(x: cx + 0.5 * d + 12 * scale, y: cy), Point2(x: cx + 0.5 * d - 12 * scale, y: cy),
        Point2(x: cx - 0.5 * d - 12 * scale, y: cy), Point2(x: cx - 0.5 * d + 12 * scale, y: cy),
        Point2(x: cx + yaw * d, y: cy + pitch * d),
    ]
}

/// A smooth random texture, deterministic.
func texture(seed: UInt64, side: Int = 96) -> [Double] {
    var state = seed
    func random() -> Double {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Double(state >> 40) / Double(1 << 24)
    }
    // Sum of random sinusoids: texture everywhere, no flat patches.
    let waves = (0..<24).map { _ in (random() * 0.5 + 0.05, random() * 0.5 + 0.05, random() * 6.3, random() * 30 + 10) }
    return (0..<(side * side)).map { i in
        let x = Double(i % side), y = Double(i / side)
        return 128 + waves.reduce(0) { $0 + $1.3 * sin($1.0 * x + $1.1 * y + $1.2) } / 3
    }
}

/// Resamples `field` at `map(x, y)` (bilinear) into a grey image.
func warp(_ field: [Double], side: Int = 96, _ map: (Double, Double) -> (Double, Double)) -> GreyImage {
    func at(_ x: Int, _ y: Int) -> Double { field[min(max(y, 0), side - 1) * side + min(max(x, 0), side - 1)] }
    var out = [UInt8](repeating: 0, count: side * side)
    for y in 0..<side {
        for x in 0..<side {
            let (sx, sy) = map(Double(x), Double(y))
            let x0 = Int(floor(sx)), y0 = Int(floor(sy))
            let fx = sx - Double(x0), fy = sy - Double(y0)
            let v = at(x0, y0) * (1 - fx) * (1 - fy) + at(x0 + 1, y0) * fx * (1 - fy) + at(x0, y0 + 1) * (1 - fx) * fy + at(x0 + 1, y0 + 1) * fx * fy
            out[y * side + x] = UInt8(min(max(v.rounded(), 0), 255))
        }
    }
    return GreyImage(width: side, height: side, bytes: out)
}

@Suite struct HeadPoseTests {
    @Test func frontalFaceHasNoYawOrRoll() throws {
        let pose = try #require(HeadPose(landmarks: landmarks()))
        #expect(abs(pose.yaw) < 1e-9)
        #expect(abs(pose.pitch - 0.6) < 1e-9)
        #expect(abs(pose.roll) < 1e-9)
        #expect(abs(pose.eyeDistance - 60) < 1e-9)
    }

    @Test func poseIgnoresPositionScaleAndRoll() throws {
        let base = landmarks(yaw: 0.2, pitch: 0.5)
        let angle = 0.4, c = cos(angle), s = sin(angle)
        let moved = base.map { Point2(x: 3 * (c * $0.x - s * $0.y) + 40, y: 3 * (s * $0.x + c * $0.y) - 17) }
        let a = try #require(HeadPose(landmarks: base)), b = try #require(HeadPose(landmarks: moved))
        #expect(abs(a.yaw - b.yaw) < 1e-9 && abs(a.pitch - b.pitch) < 1e-9)
        #expect(abs(b.roll - angle) < 1e-9)
        #expect(abs(b.eyeDistance - 3 * a.eyeDistance) < 1e-6)
    }

    @Test func refusesDegenerateLandmarks() {
        #expect(HeadPose(landmarks: Array(repeating: Point2(x: 1, y: 1), count: 5)) == nil)
        #expect(HeadPose(landmarks: Array(landmarks().prefix(4))) == nil)
    }
}

@Suite struct PlanarMotionTests {
    let base = texture(seed: 42)

    @Test func aTiltedPlaneIsExplainedByOneHomography() {
        let a = warp(self.base) { ($0, $1) }
        // A plane rotated and seen in perspective: a true homography with a visible projective part.
        let h = [0.93, 0.06, 4.0, -0.05, 0.97, 2.5, 0.0012, -0.0008, 1.0]
        let b = warp(self.base) { x, y in
            // b(x) = base(H⁻¹ x) is awkward; sampling base at H·x is the same kind of motion.
            let w = h[6] * x + h[7] * y + h[8]
            return ((h[0] * x + h[1] * y + h[2]) / w, (h[3] * x + h[4] * y + h[5]) / w)
        }
        let fit = PlanarMotion.fit(a, landmarksA: landmarks(cx: 48, cy: 40, scale: 0.5), b, landmarksB: landmarks(cx: 46, cy: 38, scale: 0.5), tolerance: 1.5)
        #expect(fit.tracked >= 30)
        #expect(fit.nonPlanarity < 0.1, "\(fit)")
    }

    @Test func aBulgeMovingAgainstItsSurroundIsNotPlanar() {
        let a = warp(self.base) { ($0, $1) }
        // The centre (a nose) shifts 6 px sideways while the surround shifts 1 px: parallax.
        let b = warp(self.base) { x, y in
            let r2 = (x - 48) * (x - 48) + (y - 48) * (y - 48)
            return (x - 1 - 5 * exp(-r2 / (2 * 14 * 14)), y)
        }
        let fit = PlanarMotion.fit(a, landmarksA: landmarks(cx: 48, cy: 40, scale: 0.5), b, landmarksB: landmarks(cx: 48, cy: 40, scale: 0.5), tolerance: 1.5)
        #expect(fit.tracked >= 30)
        #expect(fit.nonPlanarity > 0.3, "\(fit)")
    }

    @Test func homographySolverRecoversAKnownMap() throws {
        let truth = Homography(h: [1.1, 0.1, 5, -0.05, 0.9, -3, 0.001, 0.002, 1])
        let points = [(0.0, 0.0), (90.0, 5.0), (10.0, 80.0), (70.0, 70.0), (40.0, 30.0)].map { Point2(x: $0.0, y: $0.1) }
        let pairs = points.map { ($0, truth.apply($0)!) }
        let fitted = try #require(Homography.fit(pairs))
        for (p, q) in pairs { #expect(fitted.error(p, q) < 1e-6) }
        // Four collinear points determine nothing.
        let line = (0..<4).map { Point2(x: Double($0) * 10, y: Double($0) * 5) }
        #expect(Homography.fit(line.map { ($0, $0) }) == nil)
    }
}
