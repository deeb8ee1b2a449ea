/// One compared pair of images and whether they show the same person.
public struct ScoredPair: Sendable, Hashable {
    /// The embedding distance between the two faces.
    public var distance: Double
    /// True when both images show the same person (a genuine, or mated, pair).
    public var genuine: Bool

    /// Creates a scored pair.
    public init(distance: Double, genuine: Bool) {
        self.distance = distance
        self.genuine = genuine
    }
}

/// False-match and false-non-match rates of a set of scored pairs (ISO/IEC 19795-1 terms).
///
/// A pair is a match when its distance is at most the threshold. FMR is the share of impostor
/// pairs that match; FNMR the share of genuine pairs that do not.
public struct MatchErrorRates: Sendable {
    /// The equal error rate and the threshold where it occurs.
    public struct EqualErrorRate: Sendable, Hashable {
        /// The mean of FMR and FNMR at `threshold`, where they are closest.
        public var rate: Double
        /// The threshold where FMR and FNMR are closest.
        public var threshold: Double
    }

    /// An operating point: a threshold with both error rates there.
    public struct OperatingPoint: Sendable, Hashable {
        /// The distance threshold.
        public var threshold: Double
        /// The false-match rate at `threshold`.
        public var falseMatchRate: Double
        /// The false-non-match rate at `threshold`.
        public var falseNonMatchRate: Double
    }

    /// Genuine distances, sorted ascending.
    public let genuineDistances: [Double]
    /// Impostor distances, sorted ascending.
    public let impostorDistances: [Double]

    /// Creates the rates of `pairs`.
    public init(pairs: [ScoredPair]) {
        self.genuineDistances = pairs.filter(\.genuine).map(\.distance).sorted()
        self.impostorDistances = pairs.filter { !$0.genuine }.map(\.distance).sorted()
    }

    /// The false-match rate at `threshold`: impostor pairs with distance <= threshold.
    public func falseMatchRate(at threshold: Double) -> Double {
        guard !self.impostorDistances.isEmpty else { return 0 }
        return Double(Self.countAtMost(threshold, in: self.impostorDistances)) / Double(self.impostorDistances.count)
    }

    /// The false-non-match rate at `threshold`: genuine pairs with distance > threshold.
    public func falseNonMatchRate(at threshold: Double) -> Double {
        guard !self.genuineDistances.isEmpty else { return 0 }
        let matched = Self.countAtMost(threshold, in: self.genuineDistances)
        return Double(self.genuineDistances.count - matched) / Double(self.genuineDistances.count)
    }

    /// Both rates at `threshold`.
    public func operatingPoint(at threshold: Double) -> OperatingPoint {
        OperatingPoint(
            threshold: threshold,
            falseMatchRate: self.falseMatchRate(at: threshold),
            falseNonMatchRate: self.falseNonMatchRate(at: threshold)
        )
    }

    /// The equal error rate, searched over every observed distance and every midpoint between
    /// neighbouring distances. Nil without both genuine and impostor pairs.
    public var equalErrorRate: EqualErrorRate? {
        guard !self.genuineDistances.isEmpty, !self.impostorDistances.isEmpty else { return nil }
        var best: (gap: Double, rate: Double, threshold: Double)?
        for threshold in self.candidateThresholds {
            let fmr = self.falseMatchRate(at: threshold)
            let fnmr = self.falseNonMatchRate(at: threshold)
            let gap = abs(fmr - fnmr)
            let rate = (fmr + fnmr) / 2
            if let current = best, gap > current.gap || (gap == current.gap && rate >= current.rate) {
                continue
            }
            best = (gap, rate, threshold)
        }
        return best.map { EqualErrorRate(rate: $0.rate, threshold: $0.threshold) }
    }

    /// The highest threshold whose false-match rate is at most `maximumFMR`, and FNMR there.
    ///
    /// With N impostor pairs, FMR moves in steps of 1/N: it allows floor(maximumFMR * N) false
    /// matches, and the threshold is the midpoint below the next impostor distance. Nil without
    /// impostor pairs.
    public func operatingPoint(maximumFalseMatchRate maximumFMR: Double) -> OperatingPoint? {
        guard !self.impostorDistances.isEmpty else { return nil }
        let allowed = Int((maximumFMR * Double(self.impostorDistances.count)).rounded(.down))
        guard allowed < self.impostorDistances.count else {
            return self.operatingPoint(at: self.allDistances.last!)
        }
        let limit = self.impostorDistances[allowed]
        let below = self.allDistances.last(where: { $0 < limit }) ?? 0
        return self.operatingPoint(at: (below + limit) / 2)
    }

    private var allDistances: [Double] {
        (self.genuineDistances + self.impostorDistances).sorted()
    }

    private var candidateThresholds: [Double] {
        var distinct: [Double] = []
        for d in self.allDistances where distinct.last != d { distinct.append(d) }
        var candidates = distinct
        for i in distinct.indices.dropLast() { candidates.append((distinct[i] + distinct[i + 1]) / 2) }
        return candidates.sorted()
    }

    private static func countAtMost(_ threshold: Double, in sorted: [Double]) -> Int {
        var low = 0
        var high = sorted.count
        while low < high {
            let mid = (low + high) / 2
            if sorted[mid] <= threshold { low = mid + 1 } else { high = mid }
        }
        return low
    }
}
