import Foundation
import SimverifyCore
import Testing

@Suite struct GroupRatesTests {
    @Test func wilsonIntervalsMatchHandComputedValues() {
        // p = k/n, z = 1.96: centre (p + z²/2n) / (1 + z²/n), half z √(p(1-p)/n + z²/4n²) / (1 + z²/n).
        let none = CountedRate(errors: 0, trials: 10)
        #expect(none.rate == 0 && none.lower == 0 && abs(none.upper - 0.277540) < 1e-5)
        let half = CountedRate(errors: 5, trials: 10)
        #expect(abs(half.lower - 0.23659) < 1e-5 && abs(half.upper - 0.76341) < 1e-5)
        // 11 of 1500 (faces-ea's false matches at 0.60): 0.00733, [0.00410, 0.01308].
        let fmr = CountedRate(errors: 11, trials: 1500)
        #expect(
            abs(fmr.rate - 0.0073333) < 1e-6 && abs(fmr.lower - 0.0040997) < 1e-6 && abs(fmr.upper - 0.0130840) < 1e-6
        )
        let all = CountedRate(errors: 10, trials: 10)
        #expect(all.upper == 1 && abs(all.lower - 0.722460) < 1e-5)
        // No trials: nothing is known.
        let empty = CountedRate(errors: 0, trials: 0)
        #expect(empty.lower == 0 && empty.upper == 1)
    }

    @Test func pairsCountForAGroupOnlyWhenBothImagesBelongToIt() {
        // Two women (f1, f2) and two men (m1, m2), two photos each; threshold 0.5.
        let groupOf: [String: String] = [
            "f1a": "female", "f1b": "female", "f2a": "female", "m1a": "male", "m1b": "male", "m2a": "male",
        ]
        let pairs: [(a: String, b: String, scored: ScoredPair)] = [
            ("f1a", "f1b", ScoredPair(distance: 0.3, genuine: true)),  // female genuine, matched
            ("m1a", "m1b", ScoredPair(distance: 0.7, genuine: true)),  // male genuine, not matched: a false non-match
            ("f1a", "f2a", ScoredPair(distance: 0.4, genuine: false)),  // female impostor, matched: a false match
            ("f1b", "f2a", ScoredPair(distance: 0.9, genuine: false)),  // female impostor
            ("m1a", "m2a", ScoredPair(distance: 0.8, genuine: false)),  // male impostor
            ("f1a", "m2a", ScoredPair(distance: 0.45, genuine: false)),  // mixed: in "all" only
            ("x", "m2a", ScoredPair(distance: 0.95, genuine: false)),  // an image with no group: in "all" only
        ]
        let grouped = GroupedErrorRates(
            attribute: "gender",
            pairs: pairs,
            groupOf: { groupOf[$0] },
            policyThreshold: 0.5
        )
        #expect(grouped.groups.map(\.group) == ["female", "male", "all"])
        let female = grouped.groups[0]
        let male = grouped.groups[1]
        let all = grouped.groups[2]
        #expect(female.policyFMR.errors == 1 && female.policyFMR.trials == 2)
        #expect(female.policyFNMR.errors == 0 && female.policyFNMR.trials == 1)
        #expect(male.policyFMR.errors == 0 && male.policyFMR.trials == 1)
        #expect(male.policyFNMR.errors == 1 && male.policyFNMR.trials == 1)
        #expect(
            all.policyFMR.errors == 2 && all.policyFMR.trials == 5 && all.policyFNMR.errors == 1
                && all.policyFNMR.trials == 2
        )
        // Worst group: female 1/2 against 2/5 overall.
        #expect(grouped.worstGroup == "female" && abs((grouped.worstFMRRatio ?? 0) - 1.25) < 1e-9)
        // The EER threshold is the whole set's, applied to each group.
        let eer = MatchErrorRates(pairs: pairs.map(\.scored)).equalErrorRate!.threshold
        #expect(grouped.eerThreshold == eer)
        #expect(female.eerFMR.errors == [0.4, 0.9].filter { $0 <= eer }.count)
        #expect(
            grouped.text.contains("female")
                && grouped.text.contains(
                    "worst group's FMR over the whole set's at the policy threshold: 1.25 (female)"
                )
        )
    }
}

@Suite struct ThresholdCalibrationTests {
    @Test func theThresholdHoldsTheTargetAndTheReportSaysWhatThePairsCanShow() throws {
        // 10 impostors at 0.50, 0.55, ..., 0.95; 4 genuine at 0.20, 0.40, 0.52, 0.70.
        var pairs = (0..<10).map { ScoredPair(distance: 0.50 + 0.05 * Double($0), genuine: false) }
        pairs += [0.20, 0.40, 0.52, 0.70].map { ScoredPair(distance: $0, genuine: true) }
        // Target 10 %: one false match allowed, so the threshold sits below the second impostor
        // (0.55), at the midpoint from the distance below it (0.52): 0.535.
        let ten = try ThresholdCalibration(pairs: pairs, targetFMR: 0.1)
        #expect(abs(ten.threshold - 0.535) < 1e-9)
        #expect(ten.fmr.errors == 1 && ten.fmr.trials == 10 && ten.fnmr.errors == 1 && ten.fnmr.trials == 4)
        // 1 of 10: Wilson [0.0179, 0.4042]; the upper bound is far above 10 %.
        #expect(abs(ten.fmr.upper - 0.40415) < 1e-4)
        // Ten impostors cannot show 10 % with confidence: even 0 of 10 has an upper bound of 0.28.
        #expect(ten.conservative == nil && ten.text.contains("cannot show it") && ten.text.contains("at least 30"))
        // Target 5 %: no false match allowed: below the first impostor, 0.50 (midpoint from 0.40).
        let five = try ThresholdCalibration(pairs: pairs, targetFMR: 0.05)
        #expect(abs(five.threshold - 0.45) < 1e-9 && five.fmr.errors == 0 && five.fnmr.errors == 2)
        // 400 impostors, target 1 %: the point allows 4 false matches; with confidence, 0 of 400
        // (upper bound 0.0095) but not 1 of 400 (0.0140): below the first impostor.
        let many =
            (0..<400).map { ScoredPair(distance: 0.8 + Double($0) / 10_000, genuine: false) }
            + [0.3, 0.805].map { ScoredPair(distance: $0, genuine: true) }
        let shown = try ThresholdCalibration(pairs: many, targetFMR: 0.01)
        #expect(shown.fmr.errors == 4 && abs(shown.threshold - 0.80035) < 1e-9)
        let conservative = try #require(shown.conservative)
        #expect(
            conservative.fmr.errors == 0 && conservative.fmr.upper <= 0.01 && abs(conservative.threshold - 0.55) < 1e-9
        )
        #expect(conservative.fnmr.errors == 1 && shown.fnmr.errors == 1)
        #expect(shown.text.contains("with 95 % confidence (the interval's upper bound under it): threshold 0.5500"))
        #expect(throws: SimverifyError.self) {
            try ThresholdCalibration(pairs: Array(pairs.prefix(10)), targetFMR: 0.1)
        }
    }
}

@Suite struct FusionStudyTests {
    static func embedding(_ angle: Double) -> FaceEmbedding {
        var values = [Float](repeating: 0, count: 128)
        values[0] = Float(angle.cos)
        values[1] = Float(angle.sin)
        return try! FaceEmbedding(values, model: .sface)
    }

    @Test func burstsAreComparedByTheirFirstFrameAndByTheirMean() {
        // Ann: ID at 0, burst at +0.4 and -0.4 (mean: along 0); Bea: ID at 2, burst 2.1, 1.9;
        // Carl (another stratum) is never compared with them; Dan has too few photos.
        let people = [
            FusionStudy.Person(name: "ann", stratum: "f", embeddings: [0, 0.4, -0.4].map(Self.embedding)),
            FusionStudy.Person(name: "bea", stratum: "f", embeddings: [2, 2.1, 1.9].map(Self.embedding)),
            FusionStudy.Person(name: "carl", stratum: "m", embeddings: [1, 1.1, 0.9].map(Self.embedding)),
            FusionStudy.Person(name: "dan", stratum: "m", embeddings: [3, 3.1].map(Self.embedding)),
        ]
        let study = FusionStudy(people: people, frames: 2)
        #expect(study.people == 3)
        // Ann and Bea: 2 genuine, 2 impostor; Carl: 1 genuine.
        #expect(study.single.filter(\.genuine).count == 3 && study.single.filter { !$0.genuine }.count == 2)
        // Ann's first frame is 0.4 rad off (cosine distance 1 - cos 0.4); the mean of ±0.4 is on her ID.
        #expect(abs(study.single[0].distance - (1 - 0.4.cos)) < 1e-6)
        #expect(study.fused[0].distance < 1e-6)
        #expect(study.text(maximumFMR: 0.5, policyThreshold: 0.6).contains("3 people"))
    }
}

extension Double {
    fileprivate var cos: Double { Foundation.cos(self) }
    fileprivate var sin: Double { Foundation.sin(self) }
}
