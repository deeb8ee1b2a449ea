import Foundation

/// The highest threshold whose false-match rate on labelled pairs is at most a target, with both
/// rates' counts and 95 % Wilson intervals there: what `simverify calibrate` prints.
public struct ThresholdCalibration: Sendable {
    /// Genuine and impostor pairs.
    public var genuine: Int
    public var impostor: Int
    /// The largest FMR allowed.
    public var targetFMR: Double
    /// The threshold chosen (MatchErrorRates.operatingPoint(maximumFalseMatchRate:)).
    public var threshold: Double
    /// The rates there.
    public var fmr: CountedRate
    public var fnmr: CountedRate

    /// The highest threshold whose FMR's 95 % upper bound is at most the target, with both rates
    /// there: what the pairs can show with confidence. Nil when even no false match at all is not
    /// enough (too few impostor pairs).
    public var conservative: (threshold: Double, fmr: CountedRate, fnmr: CountedRate)?

    /// Calibrates on `pairs`.
    /// - Throws: `SimverifyError` `.invalidArgument` without both genuine and impostor pairs.
    public init(pairs: [ScoredPair], targetFMR: Double) throws {
        let rates = MatchErrorRates(pairs: pairs)
        guard let point = rates.operatingPoint(maximumFalseMatchRate: targetFMR), !rates.genuineDistances.isEmpty else {
            throw SimverifyError(.invalidArgument, "calibration needs genuine and impostor pairs")
        }
        let genuine = rates.genuineDistances
        let impostor = rates.impostorDistances
        func at(_ threshold: Double) -> (CountedRate, CountedRate) {
            (
                CountedRate(errors: impostor.filter { $0 <= threshold }.count, trials: impostor.count),
                CountedRate(errors: genuine.filter { $0 > threshold }.count, trials: genuine.count)
            )
        }
        self.genuine = genuine.count
        self.impostor = impostor.count
        self.targetFMR = targetFMR
        self.threshold = point.threshold
        (self.fmr, self.fnmr) = at(point.threshold)
        // The most false matches whose interval still lies under the target; the threshold sits
        // below the next impostor, as for the point estimate.
        let allowed = (0...min(impostor.count - 1, Int((targetFMR * Double(impostor.count)).rounded(.down)))).last {
            CountedRate(errors: $0, trials: impostor.count).upper <= targetFMR
        }
        if let allowed {
            let limit = impostor[allowed]
            let below = (genuine + impostor).filter { $0 < limit }.max() ?? 0
            let threshold = (below + limit) / 2
            let (fmr, fnmr) = at(threshold)
            self.conservative = (threshold, fmr, fnmr)
        }
    }

    /// Impostor pairs it takes for the 95 % upper bound to reach the target with no false match
    /// at all (the rule of three, about 3 / target).
    public var impostorPairsNeeded: Int { Int((3 / self.targetFMR).rounded(.up)) }

    /// The report, for people.
    public var text: String {
        func rates(_ fmr: CountedRate, _ fnmr: CountedRate) -> [String] {
            [
                String(
                    format: "  FMR %.4f (%d/%d), 95 %% interval [%.4f, %.4f]",
                    fmr.rate,
                    fmr.errors,
                    fmr.trials,
                    fmr.lower,
                    fmr.upper
                ),
                String(
                    format: "  FNMR %.4f (%d/%d), 95 %% interval [%.4f, %.4f]",
                    fnmr.rate,
                    fnmr.errors,
                    fnmr.trials,
                    fnmr.lower,
                    fnmr.upper
                ),
            ]
        }
        var lines =
            [String(format: "target FMR <= %g on these pairs: threshold %.4f", self.targetFMR, self.threshold)]
            + rates(self.fmr, self.fnmr)
        if let conservative {
            lines.append(
                String(
                    format:
                        "target FMR <= %g with 95 %% confidence (the interval's upper bound under it): threshold %.4f",
                    self.targetFMR,
                    conservative.threshold
                )
            )
            lines += rates(conservative.fmr, conservative.fnmr)
        } else {
            lines.append(
                String(
                    format:
                        "target FMR <= %g with 95 %% confidence: these %d impostor pairs cannot show it (with no false match that takes at least %d)",
                    self.targetFMR,
                    self.impostor,
                    self.impostorPairsNeeded
                )
            )
        }
        return lines.joined(separator: "\n")
    }
}
