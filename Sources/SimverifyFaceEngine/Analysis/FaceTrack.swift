import SimverifyCore
import SimverifyLiveness

/// Following a face from one frame of a burst to the next when the detector loses it.
///
/// dlib's HOG detector was trained on frontal faces and stops finding a head turned past about
/// 45 degrees, while its shape predictor still places five points on any box it is given. So when
/// a burst's frame has no detection, the previous frame's face box is looked for in it by
/// normalised cross-correlation of grey pixels: the previous box sampled to a 32x32 template, the
/// current frame sampled at the same scale around where the face was, every offset up to 35 % of
/// the box's width scored, at 0.9, 1 and 1.1 times the size. A box that correlates by at least
/// `minimumScore` is where the face went; otherwise the frame has no face.
///
/// The score is not an identity check (a head turned 45 degrees scores lower against its frontal
/// self than a still background against itself): what it vouches for is continuity between
/// neighbouring frames a camera took tens of milliseconds apart. A face found this way is marked
/// `DetectedFace.tracked`, and the liveness checks keep it out of the identity spread and the
/// frames matched with the ID card.
enum FaceTrack {
    /// Side of the template, pixels.
    static let side = 32
    /// Correlation needed to take a box (measured: docs/DECISIONS.md, "Turned faces with dlib").
    static let minimumScore = 0.65
    /// How far the face may have moved, as a share of its box's width.
    static let reach = 0.35
    /// Sizes searched, relative to the previous box.
    static let scales = [1.0, 0.9, 1.1]

    /// The previous frame's face, grey, `side` x `side`.
    static func template(_ image: RGBImage, box: FaceBox) -> GreyImage {
        let step = Double(box.width) / Double(side)
        let out = ZeroizingBuffer(count: side * side)
        out.withUnsafeMutableBytes { grey in
            sample(image, originX: Double(box.left), originY: Double(box.top), step: step, columns: side, rows: side) {
                grey[$1 * side + $0] = UInt8($2)
            }
        }
        return GreyImage(width: side, height: side, pixels: out)
    }

    /// Where the face of `template`, last seen at `box`, is in `image`, and how well it
    /// correlates (-1-1); nil when the box would leave the image.
    static func follow(_ template: GreyImage, from box: FaceBox, in image: RGBImage) -> (box: FaceBox, score: Double)? {
        let n = side
        let count = n * n
        let (tSum, tSumSquares): (Int, Int) = template.pixels.withUnsafeBytes { t in
            t.reduce((0, 0)) { ($0.0 + Int($1), $0.1 + Int($1) * Int($1)) }
        }
        let tVariance = Double(tSumSquares) - Double(tSum) * Double(tSum) / Double(count)
        guard tVariance > 0 else { return nil }
        let margin = Int((reach * Double(n)).rounded())
        let span = n + 2 * margin
        // The search region's grey levels: face data, so in a zeroizing buffer.
        let region = ZeroizingBuffer(count: span * span)
        var best: (box: FaceBox, score: Double)?
        for scale in scales {
            let width = Double(box.width) * scale
            let height = Double(box.height) * scale
            let step = width / Double(n)
            let originX = Double(box.left + box.right) / 2 - width / 2 - Double(margin) * step
            let originY = Double(box.top + box.bottom) / 2 - height / 2 - Double(margin) * step
            region.withUnsafeMutableBytes { r in
                sample(image, originX: originX, originY: originY, step: step, columns: span, rows: span) {
                    r[$1 * span + $0] = UInt8($2)
                }
            }
            region.withUnsafeBytes { r in
                template.pixels.withUnsafeBytes { t in
                    for dy in 0...(2 * margin) {
                        for dx in 0...(2 * margin) {
                            var sum = 0
                            var sumSquares = 0
                            var cross = 0
                            for v in 0..<n {
                                let row = (dy + v) * span + dx
                                for u in 0..<n {
                                    let value = Int(r[row + u])
                                    sum += value
                                    sumSquares += value * value
                                    cross += value * Int(t[v * n + u])
                                }
                            }
                            let variance = Double(sumSquares) - Double(sum) * Double(sum) / Double(count)
                            guard variance > 0 else { continue }
                            let covariance = Double(cross) - Double(sum) * Double(tSum) / Double(count)
                            let score = covariance / (variance * tVariance).squareRoot()
                            guard score > best?.score ?? -2 else { continue }
                            let left = Int((originX + Double(dx) * step).rounded())
                            let top = Int((originY + Double(dy) * step).rounded())
                            best = (
                                FaceBox(
                                    left: left,
                                    top: top,
                                    right: left + Int(width.rounded()) - 1,
                                    bottom: top + Int(height.rounded()) - 1
                                ),
                                score
                            )
                        }
                    }
                }
            }
        }
        guard let best, best.box.left >= 0, best.box.top >= 0, best.box.right < image.width,
            best.box.bottom < image.height
        else { return nil }
        return best
    }

    /// Grey levels of `image` on a grid of `columns` x `rows` points `step` pixels apart from
    /// (`originX`, `originY`), each the mean of the pixels nearest it (edges clamped).
    private static func sample(
        _ image: RGBImage,
        originX: Double,
        originY: Double,
        step: Double,
        columns: Int,
        rows: Int,
        into store: (Int, Int, Int) -> Void
    ) {
        let half = max(0, Int((step / 2).rounded(.down)))
        let w = image.width
        let h = image.height
        image.pixels.withUnsafeBytes { rgb in
            for v in 0..<rows {
                let y = Int((originY + (Double(v) + 0.5) * step).rounded(.down))
                for u in 0..<columns {
                    let x = Int((originX + (Double(u) + 0.5) * step).rounded(.down))
                    // A 2x2 (or 1x1) sample of the block: enough against noise, cheap.
                    var total = 0
                    for corner in 0..<4 {
                        let xi = min(max(x + (corner & 1 == 0 ? -half / 2 : half / 2), 0), w - 1)
                        let yi = min(max(y + (corner < 2 ? -half / 2 : half / 2), 0), h - 1)
                        let o = yi * image.stride + xi * 3
                        total += 77 * Int(rgb[o]) + 150 * Int(rgb[o + 1]) + 29 * Int(rgb[o + 2])
                    }
                    store(u, v, (total + 512) / 1024)
                }
            }
        }
    }
}
