/// The 3D-parallax test: does one planar homography explain how a face's interior moved between
/// two frames? A print or a screen moved about is a plane, so all its points follow one
/// homography; a head turning is not, so its nose and cheeks move differently.
///
/// Points on a grid over the first crop are tracked into the second by normalised
/// cross-correlation (ZNCC), searched around where the landmarks' similarity transform predicts
/// them; a homography is fitted to the matches by RANSAC (deterministic sampling); the answer is
/// the share of matches it leaves more than `tolerance` pixels off.
public enum PlanarMotion {
    /// The fit of one frame pair.
    public struct Fit: Sendable, Hashable {
        /// Points tracked with confidence.
        public var tracked: Int
        /// Of those, points the best homography leaves off by more than the tolerance.
        public var outliers: Int

        /// Share of tracked points off the homography (0 when nothing was tracked).
        public var nonPlanarity: Double { self.tracked == 0 ? 0 : Double(self.outliers) / Double(self.tracked) }
    }

    /// Grid spacing in crop pixels, patch half-size, search radius.
    static let spacing = 10
    static let patchRadius = 4
    static let searchRadius = 7
    static let minimumCorrelation = 0.8
    static let minimumPatchVariance = 20.0

    /// Fits the motion from crop `a` to crop `b`.
    /// - Parameters:
    ///   - landmarksA: The five landmarks of `a`'s frame, in `a`'s crop coordinates.
    ///   - landmarksB: The same in `b`.
    ///   - tolerance: Residual in crop pixels above which a point is off the homography.
    public static func fit(
        _ a: GreyImage,
        landmarksA: [Point2],
        _ b: GreyImage,
        landmarksB: [Point2],
        tolerance: Double
    ) -> Fit {
        guard let predict = Similarity(from: landmarksA, to: landmarksB) else { return Fit(tracked: 0, outliers: 0) }
        let matches = a.pixels.withUnsafeBytes { pa in
            b.pixels.withUnsafeBytes { pb in
                track(
                    Plane(bytes: pa, width: a.width, height: a.height),
                    Plane(bytes: pb, width: b.width, height: b.height),
                    predict: predict
                )
            }
        }
        // Too few matches to fit a homography is no evidence of parallax either way.
        guard matches.count >= 8 else { return Fit(tracked: matches.count, outliers: 0) }
        let inliers = ransac(matches, tolerance: tolerance)
        return Fit(tracked: matches.count, outliers: matches.count - inliers)
    }

    struct Plane {
        let bytes: UnsafeRawBufferPointer
        let width: Int
        let height: Int
        @inline(__always) func at(_ x: Int, _ y: Int) -> Double { Double(self.bytes[y * self.width + x]) }
    }

    /// x' = a·x − b·y + tx, y' = b·x + a·y + ty, least squares over the landmarks.
    struct Similarity {
        var a, b, tx, ty: Double

        init?(from p: [Point2], to q: [Point2]) {
            guard p.count == q.count, p.count >= 2 else { return nil }
            let n = Double(p.count)
            let pmx = p.map(\.x).reduce(0, +) / n
            let pmy = p.map(\.y).reduce(0, +) / n
            let qmx = q.map(\.x).reduce(0, +) / n
            let qmy = q.map(\.y).reduce(0, +) / n
            var sxx = 0.0
            var sab = 0.0
            var sba = 0.0
            for (u, v) in zip(p, q) {
                let px = u.x - pmx
                let py = u.y - pmy
                let qx = v.x - qmx
                let qy = v.y - qmy
                sxx += px * px + py * py
                sab += px * qx + py * qy
                sba += px * qy - py * qx
            }
            guard sxx > 1e-9 else { return nil }
            self.a = sab / sxx
            self.b = sba / sxx
            self.tx = qmx - self.a * pmx + self.b * pmy
            self.ty = qmy - self.b * pmx - self.a * pmy
        }

        func apply(_ p: Point2) -> Point2 {
            Point2(x: self.a * p.x - self.b * p.y + self.tx, y: self.b * p.x + self.a * p.y + self.ty)
        }
    }

    /// ZNCC block matching of grid points, with parabolic sub-pixel refinement.
    ///
    /// Every sum is of whole grey levels, so it is kept in integers: each candidate patch's sum and
    /// sum of squares come from integral images of `b` in constant time, and only the cross term
    /// is summed per offset. The sums are exact, as they were when accumulated in `Double`, so the
    /// scores (and every decision resting on them) are the same, bit for bit.
    static func track(_ a: Plane, _ b: Plane, predict: Similarity) -> [(Point2, Point2)] {
        let r = patchRadius
        let s = searchRadius
        let side = 2 * r + 1
        let count = Double(side * side)
        // Integral images of b and b squared: (width + 1) x (height + 1), a zero row and column first.
        let stride = b.width + 1
        var integral = [Int](repeating: 0, count: stride * (b.height + 1))
        var integralSq = [Int](repeating: 0, count: stride * (b.height + 1))
        for y in 0..<b.height {
            var row = 0
            var rowSq = 0
            for x in 0..<b.width {
                let v = Int(b.bytes[y * b.width + x])
                row += v
                rowSq += v * v
                integral[(y + 1) * stride + x + 1] = integral[y * stride + x + 1] + row
                integralSq[(y + 1) * stride + x + 1] = integralSq[y * stride + x + 1] + rowSq
            }
        }
        @inline(__always) func box(_ table: [Int], _ x0: Int, _ y0: Int) -> Int {
            // The sum over the patch whose top-left pixel is (x0, y0).
            table[(y0 + side) * stride + x0 + side] - table[y0 * stride + x0 + side] - table[(y0 + side) * stride + x0]
                + table[y0 * stride + x0]
        }
        var patch = [Int](repeating: 0, count: side * side)
        var scores = [Double](repeating: -1, count: (2 * s + 1) * (2 * s + 1))
        var matches: [(Point2, Point2)] = []
        var y = r + spacing / 2
        while y < a.height - r {
            var x = r + spacing / 2
            while x < a.width - r {
                defer { x += spacing }
                // The patch in a: mean, deviation.
                var sum = 0
                var sumSq = 0
                for dy in -r...r {
                    for dx in -r...r {
                        let v = Int(a.bytes[(y + dy) * a.width + x + dx])
                        patch[(dy + r) * side + dx + r] = v
                        sum += v
                        sumSq += v * v
                    }
                }
                let meanA = Double(sum) / count
                let varA = Double(sumSq) / count - meanA * meanA
                guard varA >= minimumPatchVariance else { continue }
                let guess = predict.apply(Point2(x: Double(x), y: Double(y)))
                let cx = Int(guess.x.rounded())
                let cy = Int(guess.y.rounded())
                guard cx - s - r >= 0, cy - s - r >= 0, cx + s + r < b.width, cy + s + r < b.height else { continue }
                var best = -2.0
                var bestIndex = 0
                patch.withUnsafeBufferPointer { pa in
                    for oy in -s...s {
                        for ox in -s...s {
                            let x0 = cx + ox - r
                            let y0 = cy + oy - r
                            var sab = 0
                            for row in 0..<side {
                                let ob = (y0 + row) * b.width + x0
                                let oa = row * side
                                for column in 0..<side {
                                    sab += pa[oa + column] * Int(b.bytes[ob + column])
                                }
                            }
                            let meanB = Double(box(integral, x0, y0)) / count
                            let varB = Double(box(integralSq, x0, y0)) / count - meanB * meanB
                            let score =
                                varB < 1e-6 ? -1 : (Double(sab) / count - meanA * meanB) / (varA * varB).squareRoot()
                            let index = (oy + s) * (2 * s + 1) + (ox + s)
                            scores[index] = score
                            if score > best {
                                best = score
                                bestIndex = index
                            }
                        }
                    }
                }
                let bx = bestIndex % (2 * s + 1) - s
                let by = bestIndex / (2 * s + 1) - s
                // A best match on the search border may lie beyond it: not trusted.
                guard best >= minimumCorrelation, abs(bx) < s, abs(by) < s else { continue }
                func at(_ ox: Int, _ oy: Int) -> Double { scores[(oy + s) * (2 * s + 1) + (ox + s)] }
                func vertex(_ l: Double, _ c: Double, _ h: Double) -> Double {
                    let d = l - 2 * c + h
                    return abs(d) < 1e-9 ? 0 : max(-0.5, min(0.5, 0.5 * (l - h) / d))
                }
                let fx = vertex(at(bx - 1, by), best, at(bx + 1, by))
                let fy = vertex(at(bx, by - 1), best, at(bx, by + 1))
                matches.append(
                    (Point2(x: Double(x), y: Double(y)), Point2(x: Double(cx + bx) + fx, y: Double(cy + by) + fy))
                )
            }
            y += spacing
        }
        return matches
    }

    /// Most matches one homography explains, over deterministic 4-point samples and a refit.
    static func ransac(_ matches: [(Point2, Point2)], tolerance: Double) -> Int {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        func inliers(_ h: Homography) -> [Int] {
            matches.indices.filter { h.error(matches[$0].0, matches[$0].1) <= tolerance }
        }
        var best: [Int] = []
        for _ in 0..<300 {
            var sample: Set<Int> = []
            while sample.count < 4 { sample.insert(next(matches.count)) }
            guard let h = Homography.fit(sample.map { matches[$0] }) else { continue }
            let found = inliers(h)
            if found.count > best.count { best = found }
            if best.count == matches.count { break }
        }
        guard best.count >= 4 else { return best.count }
        // Refit on the consensus, then recount, twice.
        for _ in 0..<2 {
            guard let h = Homography.fit(best.map { matches[$0] }) else { break }
            let found = inliers(h)
            guard found.count >= best.count else { break }
            best = found
        }
        return best.count
    }
}

/// A plane-to-plane projective map, h33 = 1.
struct Homography {
    var h: [Double]

    func apply(_ p: Point2) -> Point2? {
        let w = self.h[6] * p.x + self.h[7] * p.y + 1
        guard abs(w) > 1e-9 else { return nil }
        return Point2(
            x: (self.h[0] * p.x + self.h[1] * p.y + self.h[2]) / w,
            y: (self.h[3] * p.x + self.h[4] * p.y + self.h[5]) / w
        )
    }

    func error(_ p: Point2, _ q: Point2) -> Double {
        guard let m = self.apply(p) else { return .infinity }
        let dx = m.x - q.x
        let dy = m.y - q.y
        return (dx * dx + dy * dy).squareRoot()
    }

    /// Least-squares fit (exact for four points), on coordinates normalised for conditioning.
    static func fit(_ pairs: [(Point2, Point2)]) -> Homography? {
        guard pairs.count >= 4 else { return nil }
        func normaliser(_ points: [Point2]) -> (Double, Double, Double) {
            let n = Double(points.count)
            let mx = points.map(\.x).reduce(0, +) / n
            let my = points.map(\.y).reduce(0, +) / n
            let spread =
                points.map { (($0.x - mx) * ($0.x - mx) + ($0.y - my) * ($0.y - my)).squareRoot() }.reduce(0, +) / n
            return (mx, my, spread > 1e-9 ? 1.4142135623730951 / spread : 1)
        }
        let (amx, amy, asc) = normaliser(pairs.map(\.0))
        let (bmx, bmy, bsc) = normaliser(pairs.map(\.1))
        // Normal equations AᵀA h = Aᵀb for the 8 unknowns.
        var ata = [Double](repeating: 0, count: 64)
        var atb = [Double](repeating: 0, count: 8)
        for (p, q) in pairs {
            let x = (p.x - amx) * asc
            let y = (p.y - amy) * asc
            let u = (q.x - bmx) * bsc
            let v = (q.y - bmy) * bsc
            let rows: [([Double], Double)] = [
                ([x, y, 1, 0, 0, 0, -x * u, -y * u], u), ([0, 0, 0, x, y, 1, -x * v, -y * v], v),
            ]
            for (row, rhs) in rows {
                for i in 0..<8 {
                    atb[i] += row[i] * rhs
                    for j in 0..<8 { ata[i * 8 + j] += row[i] * row[j] }
                }
            }
        }
        guard let n = solve(ata, atb, size: 8) else { return nil }
        // Undo the normalisations: H = Tb⁻¹ · N · Ta.
        let nm = n + [1]
        let ta = [asc, 0, -asc * amx, 0, asc, -asc * amy, 0, 0, 1]
        let tbInv = [1 / bsc, 0, bmx, 0, 1 / bsc, bmy, 0, 0, 1]
        let m = multiply(tbInv, multiply(nm, ta))
        guard abs(m[8]) > 1e-12 else { return nil }
        return Homography(h: m.map { $0 / m[8] })
    }

    static func multiply(_ a: [Double], _ b: [Double]) -> [Double] {
        var out = [Double](repeating: 0, count: 9)
        for i in 0..<3 { for j in 0..<3 { for k in 0..<3 { out[i * 3 + j] += a[i * 3 + k] * b[k * 3 + j] } } }
        return out
    }

    /// Gaussian elimination with partial pivoting; nil when (nearly) singular.
    static func solve(_ matrix: [Double], _ rhs: [Double], size n: Int) -> [Double]? {
        var a = matrix
        var b = rhs
        for column in 0..<n {
            var pivot = column
            for row in (column + 1)..<n where abs(a[row * n + column]) > abs(a[pivot * n + column]) { pivot = row }
            guard abs(a[pivot * n + column]) > 1e-10 else { return nil }
            if pivot != column {
                for j in 0..<n { a.swapAt(column * n + j, pivot * n + j) }
                b.swapAt(column, pivot)
            }
            for row in (column + 1)..<n {
                let f = a[row * n + column] / a[column * n + column]
                guard f != 0 else { continue }
                for j in column..<n { a[row * n + j] -= f * a[column * n + j] }
                b[row] -= f * b[column]
            }
        }
        var x = [Double](repeating: 0, count: n)
        for row in stride(from: n - 1, through: 0, by: -1) {
            var s = b[row]
            for j in (row + 1)..<n { s -= a[row * n + j] * x[j] }
            x[row] = s / a[row * n + row]
        }
        return x
    }
}
