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
        #expect(abs(fmr.rate - 0.0073333) < 1e-6 && abs(fmr.lower - 0.0040997) < 1e-6 && abs(fmr.upper - 0.0130840) < 1e-6)
        let all = CountedRate(errors: 10, trials: 10)
        #expect(all.upper == 1 && abs(all.lower - 0.722460) < 1e-5)
        // No trials: nothing is known.
        let empty = CountedRate(errors: 0, trials: 0)
        #expect(empty.lower == 0 && empty.upper == 1)
    }

    @Test func pairsCountForAGroupOnlyWhenBothImagesBelongToIt() {
        // Two women (f1, f2) and two men (m1, m2), two photos each; threshold 0.5.
        let groupOf: [String: String] = ["f1a": "female", "f1b": "female", "f2a": "female", "m1a": "male", "m1b": "male", "m2a": "male"]
        let pairs: [(a: String, b: String, scored: ScoredPair)] = [
            ("f1a", "f1b", ScoredPair(distance: 0.3, genuine: true)),   // female genuine, matched
            ("m1a", "m1b", ScoredPair(distance: 0.7, genuine: true)),   // male genuine, not matched: a false non-match
            ("f1a", "f2a", ScoredPair(distance: 0.4, genuine: false)),  // female impostor, matched: a false match
            ("f1b", "f2a", ScoredPair(distance: 0.9, genuine: false)),  // female impostor
            ("m1a", "m2a", ScoredPair(distance: 0.8, genuine: false)),  // male impostor
            ("f1a", "m2a", ScoredPair(distance: 0.45, genuine: false)), // mixed: in "all" only
            ("x", "m2a", ScoredPair(distance: 0.95, genuine: false)),   // an image with no group: in "all" only
        ]
        let grouped = GroupedErrorRates(attribute: "gender", pairs: pairs, groupOf: { groupOf[$0] }, policyThreshold: 0.5)
        #expect(grouped.groups.map(\.group) == ["female", "male", "all"])
        let female = grouped.groups[0], male = grouped.groups[1], all = grouped.groups[2]
        #expect(female.policyFMR.errors == 1 && female.policyFMR.trials == 2)
        #expect(female.policyFNMR.errors == 0 && female.policyFNMR.trials == 1)
        #expect(male.policyFMR.errors == 0 && male.policyFMR.trials == 1)
        #expect(male.policyFNMR.errors == 1 && male.policyFNMR.trials == 1)
        #expect(all.policyFMR.errors == 2 && all.policyFMR.trials == 5 && all.policyFNMR.errors == 1 && all.policyFNMR.trials == 2)
        // Worst group: female 1/2 against 2/5 overall.
        #expect(grouped.worstGroup == "female" && abs((grouped.worstFMRRatio ?? 0) - 1.25) < 1e-9)
        // The EER threshold is the whole set's, applied to each group.
        let eer = MatchErrorRates(pairs: pairs.map(\.scored)).equalErrorRate!.threshold
        #expect(grouped.eerThreshold == eer)
        #expect(female.eerFMR.errors == [0.4, 0.9].filter { $0 <= eer }.count)
        #expect(grouped.text.contains("female") && grouped.text.contains("worst group's FMR over the whole set's at the policy threshold: 1.25 (female)"))
    }
}
