import Foundation
import SimverifyCore

/// A screen cue: the periodic pattern a display's pixel grid leaves on a face filmed off it.
///
/// A camera filming a screen samples the screen's grid of red, green and blue sub-pixels with its
/// own grid of pixels; the two beat, and the face carries a fine periodic pattern (moire) that
/// skin, hair and print do not. In the face's spectrum that pattern is a narrow peak standing far
/// above the other frequencies at its distance from the centre, where a face's own spectrum falls
/// off smoothly in every direction.
///
/// The measure: a square of the frame at its own resolution (no resampling, which would smear
/// the pattern), centred on the face, 64 pixels a side (32 or 16 for faces narrower than 1.1
/// times that), its mean taken out and a Hann window applied; the log power spectrum; for each
/// ring of frequencies from 0.12 to 0.5 cycles a pixel, the height of the ring's highest bin
/// above the ring's median (natural logarithm). The bins on the rows and columns of the JPEG
/// block grid (multiples of 1/8 cycle a pixel across or down) are left out: JPEG's 8x8 blocks
/// put their own peaks there. The peak excess of the face is the largest over the rings.
enum ScreenPattern {
    /// The lowest frequency looked at, cycles a pixel (below it a face has its own structure).
    static let lowestFrequency = 0.12

    /// The peak excess of the face whose box is `box` (see above); nil when the window does not
    /// fit in the image or the face is narrower than 18 pixels.
    static func peakExcess(_ image: RGBImage, box: FaceBox) -> Double? {
        var n = 64
        while n > 16 && Double(n) > 0.9 * Double(box.width) { n /= 2 }
        guard box.width >= 18 else { return nil }
        let cx = (box.left + box.right) / 2
        let cy = (box.top + box.bottom) / 2
        let x0 = cx - n / 2
        let y0 = cy - n / 2
        guard x0 >= 0, y0 >= 0, x0 + n <= image.width, y0 + n <= image.height else { return nil }
        var patch = [Double](repeating: 0, count: n * n)
        image.pixels.withUnsafeBytes { rgb in
            for v in 0..<n {
                var o = (y0 + v) * image.stride + x0 * 3
                for u in 0..<n {
                    patch[v * n + u] = 0.299 * Double(rgb[o]) + 0.587 * Double(rgb[o + 1]) + 0.114 * Double(rgb[o + 2])
                    o += 3
                }
            }
        }
        return Self.peakExcess(patch: patch, side: n)
    }

    /// The peak excess of a grey `side` x `side` patch (row-major), `side` a multiple of 8.
    static func peakExcess(patch: [Double], side n: Int) -> Double {
        let mean = patch.reduce(0, +) / Double(patch.count)
        let hann = (0..<n).map { 0.5 - 0.5 * cos(2 * Double.pi * Double($0) / Double(n - 1)) }
        var re = [Double](repeating: 0, count: n * n)
        var im = [Double](repeating: 0, count: n * n)
        for v in 0..<n { for u in 0..<n { re[v * n + u] = (patch[v * n + u] - mean) * hann[u] * hann[v] } }
        // A 2-D DFT as rows then columns, each a plain DFT with a table of twiddles (n <= 64).
        let cosines = (0..<n).map { cos(2 * Double.pi * Double($0) / Double(n)) }
        let sines = (0..<n).map { -sin(2 * Double.pi * Double($0) / Double(n)) }
        func transform(stride: Int, count: Int, step: Int) {
            var outRe = [Double](repeating: 0, count: n)
            var outIm = [Double](repeating: 0, count: n)
            for line in 0..<count {
                let base = line * step
                for k in 0..<n {
                    var sr = 0.0
                    var si = 0.0
                    var t = 0
                    for j in 0..<n {
                        let o = base + j * stride
                        sr += re[o] * cosines[t] - im[o] * sines[t]
                        si += re[o] * sines[t] + im[o] * cosines[t]
                        t += k
                        if t >= n { t -= n }
                    }
                    outRe[k] = sr
                    outIm[k] = si
                }
                for k in 0..<n {
                    re[base + k * stride] = outRe[k]
                    im[base + k * stride] = outIm[k]
                }
            }
        }
        transform(stride: 1, count: n, step: n)  // rows
        transform(stride: n, count: n, step: 1)  // columns
        // Rings of the log power spectrum, frequencies (u, v) in -n/2 ..< n/2.
        let grid = n / 8
        var rings = [[Double]](repeating: [], count: n / 2 + 1)
        for v in 0..<n {
            for u in 0..<n {
                let fu = u < n / 2 ? u : u - n
                let fv = v < n / 2 ? v : v - n
                if fu % grid == 0 || fv % grid == 0 { continue }
                let r = (Double(fu * fu + fv * fv)).squareRoot()
                guard r < Double(n / 2) else { continue }  // past the highest ring looked at
                let power = log(re[v * n + u] * re[v * n + u] + im[v * n + u] * im[v * n + u] + 1e-6)
                // Each bin counts for every integer radius within 1 of its own.
                for ring in Int(r.rounded(.down))...Int(r.rounded(.up)) where abs(r - Double(ring)) < 1 {
                    rings[ring].append(power)
                }
            }
        }
        var best = 0.0
        for ring in Int((Self.lowestFrequency * Double(n)).rounded(.down))..<n / 2 where rings[ring].count >= 8 {
            best = max(best, rings[ring].max()! - median(rings[ring])!)
        }
        return best
    }
}
