import SimverifyCore
import Testing

@Suite("Match error rates")
struct MatchErrorRatesTests {
    /// Genuine: 0.30 0.40 0.50 0.70. Impostor: 0.45 0.80 0.90 1.00.
    static let table: [ScoredPair] = [
        .init(distance: 0.30, genuine: true), .init(distance: 0.40, genuine: true),
        .init(distance: 0.50, genuine: true), .init(distance: 0.70, genuine: true),
        .init(distance: 0.45, genuine: false), .init(distance: 0.80, genuine: false),
        .init(distance: 0.90, genuine: false), .init(distance: 1.00, genuine: false),
    ]

    @Test(arguments: [
        // threshold, FMR, FNMR: worked out by hand from the table.
        (0.20, 0.00, 1.00), (0.30, 0.00, 0.75), (0.45, 0.25, 0.50), (0.60, 0.25, 0.25),
        (0.70, 0.25, 0.00), (0.85, 0.50, 0.00), (1.00, 1.00, 0.00),
    ])
    func ratesAtThresholds(threshold: Double, fmr: Double, fnmr: Double) {
        let rates = MatchErrorRates(pairs: Self.table)
        #expect(rates.falseMatchRate(at: threshold) == fmr)
        #expect(rates.falseNonMatchRate(at: threshold) == fnmr)
    }

    @Test func equalErrorRate() throws {
        // FMR = FNMR = 0.25 for thresholds in [0.50, 0.70): the search lands on one of them.
        let eer = try #require(MatchErrorRates(pairs: Self.table).equalErrorRate)
        #expect(eer.rate == 0.25)
        #expect(eer.threshold >= 0.50 && eer.threshold < 0.70)
    }

    @Test func equalErrorRateIsZeroWhenSeparated() throws {
        let pairs: [ScoredPair] = [
            .init(distance: 0.3, genuine: true), .init(distance: 0.4, genuine: true),
            .init(distance: 0.8, genuine: false), .init(distance: 0.9, genuine: false),
        ]
        let eer = try #require(MatchErrorRates(pairs: pairs).equalErrorRate)
        #expect(eer.rate == 0)
        #expect(eer.threshold >= 0.4 && eer.threshold < 0.8)
    }

    @Test func operatingPointForAMaximumFalseMatchRate() throws {
        let rates = MatchErrorRates(pairs: Self.table)
        // 4 impostors: FMR <= 0.001 allows none, so the threshold sits below 0.45 (midpoint with 0.40).
        let strict = try #require(rates.operatingPoint(maximumFalseMatchRate: 1e-3))
        #expect(abs(strict.threshold - 0.425) < 1e-12)
        #expect(strict.falseMatchRate == 0 && strict.falseNonMatchRate == 0.5)
        // FMR <= 0.25 allows one: the threshold sits below 0.80 (midpoint with 0.70).
        let loose = try #require(rates.operatingPoint(maximumFalseMatchRate: 0.25))
        #expect(abs(loose.threshold - 0.75) < 1e-12)
        #expect(loose.falseMatchRate == 0.25 && loose.falseNonMatchRate == 0)
    }

    @Test func emptySidesHaveNoEqualErrorRate() {
        #expect(MatchErrorRates(pairs: []).equalErrorRate == nil)
        #expect(
            MatchErrorRates(pairs: [.init(distance: 0.1, genuine: true)]).operatingPoint(maximumFalseMatchRate: 0.1)
                == nil
        )
    }
}
