/// Multi-frame matching measured on real bursts: each bona fide burst's best (most frontal) frame
/// plays the ID photo for every other burst; a burst of the same person is a genuine comparison,
/// of another person an impostor one. The other burst is matched once by its best frame and once
/// by the mean of its `frames` most frontal frames' embeddings, as the service does with
/// `MatchPolicy.matchFrames`.
public struct BurstFusionStudy: Sendable {
    /// One burst: whose, and its embeddings from the most frontal frame on.
    public struct Burst: Sendable {
        public var name: String
        public var person: String
        public var frontal: [FaceEmbedding]

        public init(name: String, person: String, frontal: [FaceEmbedding]) {
            self.name = name
            self.person = person
            self.frontal = frontal
        }
    }

    public let frames: Int
    /// Bursts with at least `frames` frames, and the people they show.
    public let bursts: Int
    public let people: Int
    /// The best frame alone, and the mean of the `frames` most frontal.
    public let single: [ScoredPair]
    public let fused: [ScoredPair]

    public init(bursts: [Burst], frames: Int) {
        let usable = bursts.filter { $0.frontal.count >= max(1, frames) }
        var single: [ScoredPair] = []
        var fused: [ScoredPair] = []
        for reference in usable {
            for other in usable where other.name != reference.name {
                guard let mean = FaceEmbedding.mean(Array(other.frontal.prefix(frames))) else { continue }
                let genuine = other.person == reference.person
                single.append(
                    ScoredPair(distance: other.frontal[0].distance(to: reference.frontal[0]), genuine: genuine)
                )
                fused.append(ScoredPair(distance: mean.distance(to: reference.frontal[0]), genuine: genuine))
            }
        }
        self.frames = frames
        self.bursts = usable.count
        self.people = Set(usable.map(\.person)).count
        self.single = single
        self.fused = fused
    }

    /// Counts, then per rule: the genuine and impostor distances' means (and the nearest impostor), the EER, and both rates at the policy threshold.
    public func text(policyThreshold: Double) -> String {
        func line(_ name: String, _ pairs: [ScoredPair]) -> String {
            let rates = MatchErrorRates(pairs: pairs)
            let genuine = rates.genuineDistances
            let mean = genuine.isEmpty ? Double.nan : genuine.reduce(0, +) / Double(genuine.count)
            let impostor = rates.impostorDistances
            let impostorMean = impostor.isEmpty ? Double.nan : impostor.reduce(0, +) / Double(impostor.count)
            let at = rates.operatingPoint(at: policyThreshold)
            let eer = rates.equalErrorRate.map { String(format: "%.4f", $0.rate) } ?? "n/a"
            return
                "  \(name)distance mean: genuine \(String(format: "%.4f", mean)), impostor \(String(format: "%.4f", impostorMean)) (nearest \(String(format: "%.4f", impostor.first ?? .nan))); EER \(eer); at \(MatchPolicy.text(threshold: policyThreshold)): "
                + String(
                    format: "FMR %.4f (%d/%d), FNMR %.4f (%d/%d)",
                    at.falseMatchRate,
                    Int((at.falseMatchRate * Double(rates.impostorDistances.count)).rounded()),
                    rates.impostorDistances.count,
                    at.falseNonMatchRate,
                    Int((at.falseNonMatchRate * Double(genuine.count)).rounded()),
                    genuine.count
                )
        }
        let genuine = self.single.filter(\.genuine).count
        return [
            "multi-frame matching on bursts: \(self.bursts) bona fide bursts of \(self.people) people, each burst's best frame as the ID photo of every other (\(genuine) genuine, \(self.single.count - genuine) impostor comparisons):",
            line("best frame alone:       ", self.single),
            line("mean of \(self.frames) most frontal: ", self.fused),
        ].joined(separator: "\n")
    }
}
