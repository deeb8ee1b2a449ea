import Foundation
import SimverifyCore
import Testing

#if canImport(FoundationXML)
import FoundationXML
#endif

@Suite struct ErrorRatePlotsTests {
    static let pairs: [ScoredPair] =
        (0..<50).map { ScoredPair(distance: 0.2 + Double($0) / 100, genuine: true) }
        + (0..<200).map { ScoredPair(distance: 0.5 + Double($0) / 250, genuine: false) }

    /// The points of each polyline of class `series`.
    static func polylines(_ svg: String, class name: String) -> [[(Double, Double)]] {
        svg.components(separatedBy: "\n").filter { $0.contains("<polyline class=\"\(name)\"") }.map { line in
            let points = line.components(separatedBy: "points=\"")[1].components(separatedBy: "\"")[0]
            return points.split(separator: " ").map { pair in
                let xy = pair.split(separator: ",").map { Double($0)! }
                return (xy[0], xy[1])
            }
        }
    }

    static func wellFormed(_ xml: String) -> Bool {
        XMLParser(data: Data(xml.utf8)).parse()
    }

    @Test func aDETCurveRunsFromHighFNMRToHighFMROnLogAxes() {
        let half = Array(Self.pairs.prefix(25)) + Array(Self.pairs.suffix(100))
        let svg = ErrorRatePlots.det([(name: "all", pairs: Self.pairs), (name: "half <b>", pairs: half)], marks: [0.6])
        #expect(Self.wellFormed(svg))
        let lines = Self.polylines(svg, class: "series")
        #expect(lines.count == 2)
        for line in lines {
            // As the threshold rises FMR grows (x right) and FNMR falls (y down the page: larger).
            #expect(zip(line, line.dropFirst()).allSatisfy { $1.0 >= $0.0 && $1.1 >= $0.1 })
            #expect(line.count > 10)
        }
        // Decade labels on both axes, one dot per curve for the mark, names escaped.
        #expect(svg.contains(">1e-4<") && svg.contains(">1e-3<") && svg.contains(">1e0<"))
        #expect(svg.components(separatedBy: "<circle").count - 1 == 2)
        #expect(svg.contains("half &lt;b&gt;") && !svg.contains("half <b>"))
    }

    @Test func theHistogramShowsBothKindsAsSharesAndTheThreshold() {
        let svg = ErrorRatePlots.histogram(Self.pairs, threshold: 0.6, bins: 10)
        #expect(Self.wellFormed(svg))
        let genuine = Self.polylines(svg, class: "genuine")
        let impostor = Self.polylines(svg, class: "impostor")
        #expect(genuine.count == 1 && impostor.count == 1)
        // 10 bins: two points each, plus the two ends on the axis.
        #expect(genuine[0].count == 22 && impostor[0].count == 22)
        #expect(svg.contains("threshold 0.600") && svg.contains("stroke-dasharray"))
    }

    @Test func thePageIsSelfContainedAndEscapesItsText() {
        let html = ErrorRatePlots.page(
            title: "rates <draft>",
            sections: [("How", "command: eval --groups a&b")],
            pictures: [("DET", ErrorRatePlots.det([(name: "all", pairs: Self.pairs)]))]
        )
        #expect(
            html.hasPrefix("<!DOCTYPE html>") && html.contains("<svg") && !html.contains("<script")
                && !html.contains("src=")
        )
        #expect(html.contains("rates &lt;draft&gt;") && html.contains("a&amp;b"))
    }
}
