import SimverifyCore
import SimverifyLiveness

/// Whether the lower face is bare: a mask over nose and mouth (common at Korean counters) leaves
/// the eyes, so the detector still finds the face, but the face the ID card shows is not there.
///
/// The measure is colour against the face's own skin, so it holds under any light and for any
/// skin tone: the skin colour is the median chromaticity (r, g) = (R, G) / (R + G + B) of the
/// band across the eyes (eye-line ± 0.15 eye distances, ± 0.85 to each side; the eyes themselves
/// are a minority of it), and the lower-face share is the part of the region below the nose
/// (nose + 0.1 to + 0.7 eye distances, ± 0.45 to each side: upper lip, mouth, chin) whose
/// chromaticity lies within `tolerance` of it and whose brightness is at least a third of the
/// band's. A white, blue, grey or black mask gives a share near 0; a bare face, 0.6-1 (lips and
/// shadows are the rest).
enum FaceCover {
    /// Chromaticity distance (max of |Δr|, |Δg|) within which a pixel counts as the face's skin,
    /// as a share of the skin's saturation (its distance from grey).
    static let tolerance = 0.45
    /// How much brighter than the band's median a pixel may be and still count as skin.
    static let brighter = 2.2

    /// The share of a detected face's lower face that is skin-coloured (see below).
    static func lowerFaceSkinShare(_ image: RGBImage, face: DetectedFace, model: FaceModel) -> Double? {
        let points = face.landmarks.map { Point2(x: $0.x, y: $0.y) }
        guard let keypoints = FaceKeypoints(model: model, points: points) else { return nil }
        return Self.lowerFaceSkinShare(image, keypoints: keypoints)
    }

    /// The share of the lower face that is skin-coloured; nil when it cannot be told (a grey
    /// image, whose band has no colour, or a region outside the image).
    static func lowerFaceSkinShare(_ image: RGBImage, keypoints k: FaceKeypoints) -> Double? {
        let ex = (k.eyeOnImageLeft.x + k.eyeOnImageRight.x) / 2
        let ey = (k.eyeOnImageLeft.y + k.eyeOnImageRight.y) / 2
        let ax = k.eyeOnImageRight.x - k.eyeOnImageLeft.x
        let ay = k.eyeOnImageRight.y - k.eyeOnImageLeft.y
        let d = (ax * ax + ay * ay).squareRoot()
        guard d >= 8 else { return nil }
        // Across (eye to eye) and down (perpendicular, toward the nose), unit vectors.
        let (cx, cy) = (ax / d, ay / d)
        var (dx, dy) = (-cy, cx)
        if (k.nose.x - ex) * dx + (k.nose.y - ey) * dy < 0 { (dx, dy) = (-dx, -dy) }
        let samples = 16
        return image.pixels.withUnsafeBytes { rgb -> Double? in
            /// (r, g, R + G + B) at the points of a grid over a rectangle of the face's frame.
            func grid(
                originX: Double,
                originY: Double,
                across: ClosedRange<Double>,
                down: ClosedRange<Double>
            ) -> [(Double, Double, Double)]? {
                var values: [(Double, Double, Double)] = []
                values.reserveCapacity(samples * samples)
                for j in 0..<samples {
                    let v = down.lowerBound + (down.upperBound - down.lowerBound) * (Double(j) + 0.5) / Double(samples)
                    for i in 0..<samples {
                        let u =
                            across.lowerBound + (across.upperBound - across.lowerBound) * (Double(i) + 0.5)
                            / Double(samples)
                        let x = Int((originX + d * (u * cx + v * dx)).rounded())
                        let y = Int((originY + d * (u * cy + v * dy)).rounded())
                        guard x >= 0, y >= 0, x < image.width, y < image.height else { return nil }
                        let o = y * image.stride + x * 3
                        let r = Double(rgb[o])
                        let g = Double(rgb[o + 1])
                        let b = Double(rgb[o + 2])
                        let sum = max(r + g + b, 1)
                        values.append((r / sum, g / sum, r + g + b))
                    }
                }
                return values
            }
            guard let band = grid(originX: ex, originY: ey, across: -0.85...0.85, down: -0.15...0.15),
                let lower = grid(originX: k.nose.x, originY: k.nose.y, across: -0.45...0.45, down: 0.1...0.7)
            else { return nil }
            // Pixels too dark to have a colour do not set the skin's.
            let lit = band.filter { $0.2 >= 60 }
            guard lit.count >= band.count / 4 else { return nil }
            // The upper median (a value of the band's own pixels), as the thresholds were set with.
            func upperMedian(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
            let skinR = upperMedian(lit.map(\.0))
            let skinG = upperMedian(lit.map(\.1))
            let skinSum = upperMedian(lit.map(\.2))
            // A grey image (or a grey-lit face) has no skin colour to compare with.
            let saturation = max(abs(skinR - 1.0 / 3), abs(skinG - 1.0 / 3))
            guard saturation >= 0.01 else { return nil }
            // Within a face, colour varies with the skin's own saturation: a pale face on a
            // screen (saturation 0.03) is told from a white mask by less than a tanned one.
            let tolerance = max(0.012, Self.tolerance * saturation)
            let skin = lower.filter {
                abs($0.0 - skinR) <= tolerance && abs($0.1 - skinG) <= tolerance && $0.2 >= skinSum / 3
                    && $0.2 <= skinSum * Self.brighter
            }
            return Double(skin.count) / Double(lower.count)
        }
    }
}
