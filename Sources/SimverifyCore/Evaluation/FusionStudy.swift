/// Multi-frame matching measured on people with several photos: each person's first photo plays
/// the ID card, the next `frames` photos a burst; the burst is compared once by its first frame
/// and once by the mean of all its frames' embeddings. Impostor comparisons take another
/// person's burst against the ID card, within the same stratum (gender, when given).
public struct FusionStudy: Sendable {
    /// One person's embeddings, their ID-card photo first.
    public struct Person: Sendable {
        public var name: String
        public var stratum: String
        public var embeddings: [FaceEmbedding]

        public init(name: String, stratum: String, embeddings: [FaceEmbedding]) {
            self.name = name
            self.stratum = stratum
            self.embeddings = embeddings
        }
    }

    /// Frames in a burst.
    public let frames: Int
    /// People with at least `frames` + 1 photos.
    public let people: Int
    /// Scores of the first frame alone, and of the mean of the burst.
    public let single: [ScoredPair]
    public let fused: [ScoredPair]

    /// Builds the comparisons.
    public init(people: [Person], frames: Int) {
        let usable = people.filter { $0.embeddings.count > frames && frames > 0 }
        var single: [ScoredPair] = []
        var fused: [ScoredPair] = []
        let bursts = usable.map { Array($0.embeddings[1...frames]) }
        let means = bursts.map { FaceEmbedding.mean($0) }
        for (i, person) in usable.enumerated() {
            let reference = person.embeddings[0]
            for (j, other) in usable.enumerated() where other.stratum == person.stratum {
                guard let mean = means[j] else { continue }
                single.append(ScoredPair(distance: bursts[j][0].distance(to: reference), genuine: i == j))
                fused.append(ScoredPair(distance: mean.distance(to: reference), genuine: i == j))
            }
        }
        self.frames = frames
        self.people = usable.count
        self.single = single
        self.fused = fused
    }

    /// One line per rule: EER, FNMR at the highest threshold with FMR at most `maximumFMR`, and
    /// both rates at `policyThreshold`.
    public func text(maximumFMR: Double, policyThreshold: Double) -> String {
        func line(_ name: String, _ pairs: [ScoredPair]) -> String {
            let rates = MatchErrorRates(pairs: pairs)
            let point = rates.operatingPoint(maximumFalseMatchRate: maximumFMR)
            let policy = rates.operatingPoint(at: policyThreshold)
            return "  " + name
                + String(
                    format: "EER %.4f; FMR <= %g: threshold %.4f, FNMR %.4f; at %@: FMR %.4f, FNMR %.4f",
                    rates.equalErrorRate?.rate ?? .nan,
                    maximumFMR,
                    point?.threshold ?? .nan,
                    point?.falseNonMatchRate ?? .nan,
                    MatchPolicy.text(threshold: policyThreshold),
                    policy.falseMatchRate,
                    policy.falseNonMatchRate
                )
        }
        let genuine = self.single.filter(\.genuine).count
        return [
            "multi-frame matching: \(self.people) people, each one's first photo against a burst of their next \(self.frames) (\(genuine) genuine, \(self.single.count - genuine) impostor comparisons, impostors within a stratum):",
            line("first frame alone:   ", self.single),
            line("mean of \(self.frames) frames:    ", self.fused),
        ].joined(separator: "\n")
    }
}
