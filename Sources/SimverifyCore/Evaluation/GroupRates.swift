import Foundation

/// A count of errors out of trials, with its 95 % Wilson score interval: the honest way to quote
/// a rate from a few hundred pairs (at 0 errors the point says 0, the interval does not).
public struct CountedRate: Sendable, Hashable, Codable {
    /// Errors (false matches or false non-matches).
    public var errors: Int
    /// Trials (impostor or genuine pairs).
    public var trials: Int
    /// errors / trials (0 without trials).
    public var rate: Double
    /// The 95 % Wilson score interval.
    public var lower: Double
    public var upper: Double

    /// The rate of `errors` in `trials`, with its Wilson interval at `z` (1.96: 95 %).
    public init(errors: Int, trials: Int, z: Double = 1.96) {
        self.errors = errors
        self.trials = trials
        guard trials > 0 else {
            self.rate = 0
            self.lower = 0
            self.upper = 1
            return
        }
        let n = Double(trials)
        let p = Double(errors) / n
        let z2 = z * z
        let denominator = 1 + z2 / n
        let centre = (p + z2 / (2 * n)) / denominator
        let half = z * (p * (1 - p) / n + z2 / (4 * n * n)).squareRoot() / denominator
        self.rate = p
        self.lower = max(0, centre - half)
        self.upper = min(1, centre + half)
    }
}

/// Error rates of one group of people at two thresholds.
public struct GroupErrorRates: Sendable, Hashable, Codable {
    /// The group's name ("female", "all", ...).
    public var group: String
    /// FMR and FNMR at the policy threshold.
    public var policyFMR: CountedRate
    public var policyFNMR: CountedRate
    /// FMR and FNMR at the whole set's EER threshold.
    public var eerFMR: CountedRate
    public var eerFNMR: CountedRate

    /// The rates of `pairs` (already restricted to the group) at both thresholds.
    public init(group: String, pairs: [ScoredPair], policyThreshold: Double, eerThreshold: Double) {
        let genuine = pairs.filter(\.genuine).map(\.distance)
        let impostor = pairs.filter { !$0.genuine }.map(\.distance)
        func at(_ threshold: Double) -> (CountedRate, CountedRate) {
            (
                CountedRate(errors: impostor.filter { $0 <= threshold }.count, trials: impostor.count),
                CountedRate(errors: genuine.filter { $0 > threshold }.count, trials: genuine.count)
            )
        }
        self.group = group
        (self.policyFMR, self.policyFNMR) = at(policyThreshold)
        (self.eerFMR, self.eerFNMR) = at(eerThreshold)
    }
}

/// Error rates by group: a pair counts for a group when both its images belong to it (genuine
/// pairs are one person; impostor pairs of the development sets are matched on gender).
public struct GroupedErrorRates: Sendable, Hashable, Codable {
    /// What the groups are ("gender", "group", ...).
    public var attribute: String
    /// The policy threshold and the whole set's EER threshold.
    public var policyThreshold: Double
    public var eerThreshold: Double
    /// Every group, by name, then "all".
    public var groups: [GroupErrorRates]
    /// The worst group's FMR over the whole set's, at the policy threshold (nil when the whole
    /// set has no false match), and which group that is.
    public var worstFMRRatio: Double?
    public var worstGroup: String?

    /// Groups `pairs` (image names and whether genuine, with their distance) by `groupOf`.
    public init(
        attribute: String,
        pairs: [(a: String, b: String, scored: ScoredPair)],
        groupOf: (String) -> String?,
        policyThreshold: Double
    ) {
        let all = pairs.map(\.scored)
        let eer = MatchErrorRates(pairs: all).equalErrorRate?.threshold ?? policyThreshold
        var byGroup: [String: [ScoredPair]] = [:]
        for pair in pairs {
            guard let ga = groupOf(pair.a), let gb = groupOf(pair.b), ga == gb else { continue }
            byGroup[ga, default: []].append(pair.scored)
        }
        self.attribute = attribute
        self.policyThreshold = policyThreshold
        self.eerThreshold = eer
        let overall = GroupErrorRates(group: "all", pairs: all, policyThreshold: policyThreshold, eerThreshold: eer)
        self.groups =
            byGroup.keys.sorted().map {
                GroupErrorRates(group: $0, pairs: byGroup[$0]!, policyThreshold: policyThreshold, eerThreshold: eer)
            } + [overall]
        let worst = self.groups.dropLast().max { $0.policyFMR.rate < $1.policyFMR.rate }
        self.worstGroup = worst?.group
        self.worstFMRRatio = overall.policyFMR.rate > 0 ? worst.map { $0.policyFMR.rate / overall.policyFMR.rate } : nil
    }

    /// The table, for people.
    public var text: String {
        func rate(_ r: CountedRate) -> String {
            String(format: "%.4f (%d/%d) [%.4f, %.4f]", r.rate, r.errors, r.trials, r.lower, r.upper)
        }
        var lines = [
            "by \(self.attribute): a pair counts for a group when both its images belong to it; 95 % Wilson intervals in brackets:"
                + " the counts are small, read the intervals, not the points",
            String(format: "at the policy threshold %.4f:", self.policyThreshold),
        ]
        let width = max(10, self.groups.map(\.group.count).max() ?? 0)
        func name(_ g: GroupErrorRates) -> String { g.group + String(repeating: " ", count: width - g.group.count) }
        for g in self.groups { lines.append("  \(name(g)) FMR \(rate(g.policyFMR))  FNMR \(rate(g.policyFNMR))") }
        lines.append(String(format: "at the whole set's EER threshold %.4f:", self.eerThreshold))
        for g in self.groups { lines.append("  \(name(g)) FMR \(rate(g.eerFMR))  FNMR \(rate(g.eerFNMR))") }
        if let ratio = self.worstFMRRatio, let worst = self.worstGroup {
            lines.append(
                String(
                    format: "worst group's FMR over the whole set's at the policy threshold: %.2f (%@)",
                    ratio,
                    worst
                )
            )
        } else {
            lines.append(
                "worst group's FMR over the whole set's at the policy threshold: n/a (no false match in the whole set)"
            )
        }
        return lines.joined(separator: "\n")
    }
}
