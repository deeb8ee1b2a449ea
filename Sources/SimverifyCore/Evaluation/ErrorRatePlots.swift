import Foundation

/// The accuracy pictures an assessor expects, drawn as SVG by hand (no plotting dependency): a
/// DET curve (FNMR against FMR, both on log scales) with one line per group, and a histogram of
/// genuine and impostor distances with the threshold marked.
public enum ErrorRatePlots {
    /// Line colours, one per series in order (colour-blind-safe Okabe-Ito).
    static let colours = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]

    /// A DET curve of each named set of pairs. FMR from 1e-4 to 1 (x), FNMR from 1e-3 to 1 (y);
    /// rates of 0 are drawn on the axis' lowest decade. `marks` are thresholds drawn as dots on
    /// every curve (the policy threshold).
    public static func det(
        _ series: [(name: String, pairs: [ScoredPair])],
        marks: [Double] = [],
        width: Int = 560,
        height: Int = 420
    ) -> String {
        let left = 64.0
        let right = 16.0
        let top = 16.0
        let bottom = 48.0
        let plotW = Double(width) - left - right
        let plotH = Double(height) - top - bottom
        let xMin = -4.0
        let yMin = -3.0
        func x(_ fmr: Double) -> Double { left + (max(log10(max(fmr, 1e-9)), xMin) - xMin) / -xMin * plotW }
        func y(_ fnmr: Double) -> Double { top + plotH - (max(log10(max(fnmr, 1e-9)), yMin) - yMin) / -yMin * plotH }
        var svg = [
            Self.open(
                width: width,
                height: height,
                label: "DET curve: false non-match rate against false match rate, log scales"
            )
        ]
        // Decade grid and labels.
        for decade in Int(xMin)...0 {
            let px = x(pow(10, Double(decade)))
            svg.append(Self.line(px, top, px, top + plotH, colour: "#dddddd"))
            svg.append(Self.text(px, top + plotH + 16, "1e\(decade)", anchor: "middle"))
        }
        for decade in Int(yMin)...0 {
            let py = y(pow(10, Double(decade)))
            svg.append(Self.line(left, py, left + plotW, py, colour: "#dddddd"))
            svg.append(Self.text(left - 6, py + 4, "1e\(decade)", anchor: "end"))
        }
        svg.append(
            "<rect x=\"\(Self.f(left))\" y=\"\(Self.f(top))\" width=\"\(Self.f(plotW))\" height=\"\(Self.f(plotH))\" fill=\"none\" stroke=\"#000\"/>"
        )
        svg.append(Self.text(left + plotW / 2, Double(height) - 10, "false match rate (FMR)", anchor: "middle"))
        svg.append(
            "<text x=\"14\" y=\"\(Self.f(top + plotH / 2))\" transform=\"rotate(-90 14 \(Self.f(top + plotH / 2)))\" text-anchor=\"middle\" font-size=\"12\">false non-match rate (FNMR)</text>"
        )
        for (index, item) in series.enumerated() {
            let colour = Self.colours[index % Self.colours.count]
            let rates = MatchErrorRates(pairs: item.pairs)
            guard !rates.genuineDistances.isEmpty, !rates.impostorDistances.isEmpty else { continue }
            let thresholds = Array(Set(rates.genuineDistances + rates.impostorDistances)).sorted()
            let points = ([thresholds[0] - 1] + thresholds).map { t in
                "\(Self.f(x(rates.falseMatchRate(at: t)))),\(Self.f(y(rates.falseNonMatchRate(at: t))))"
            }
            svg.append(
                "<polyline class=\"series\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\" points=\"\(points.joined(separator: " "))\"/>"
            )
            for mark in marks {
                svg.append(
                    "<circle cx=\"\(Self.f(x(rates.falseMatchRate(at: mark))))\" cy=\"\(Self.f(y(rates.falseNonMatchRate(at: mark))))\" r=\"4\" fill=\"\(colour)\"/>"
                )
            }
            svg.append(
                Self.text(
                    left + plotW - 8,
                    top + 18 + 16 * Double(index),
                    "\(item.name) (\(rates.genuineDistances.count) genuine, \(rates.impostorDistances.count) impostor)",
                    anchor: "end",
                    colour: colour
                )
            )
        }
        svg.append("</svg>")
        return svg.joined(separator: "\n")
    }

    /// Genuine and impostor distances in `bins` bins from 0 to the largest distance, each drawn as
    /// the share of its own kind (so that 600 genuine and 1,500 impostor pairs compare), with a
    /// vertical line at `threshold`.
    public static func histogram(
        _ pairs: [ScoredPair],
        threshold: Double,
        bins: Int = 40,
        width: Int = 560,
        height: Int = 300
    ) -> String {
        let left = 56.0
        let right = 16.0
        let top = 16.0
        let bottom = 48.0
        let plotW = Double(width) - left - right
        let plotH = Double(height) - top - bottom
        let largest = max(pairs.map(\.distance).filter(\.isFinite).max() ?? 1, threshold) * 1.02
        func share(_ genuine: Bool) -> [Double] {
            let values = pairs.filter { $0.genuine == genuine }.map(\.distance).filter(\.isFinite)
            var counts = [Double](repeating: 0, count: bins)
            for v in values { counts[min(bins - 1, max(0, Int(v / largest * Double(bins))))] += 1 }
            return counts.map { values.isEmpty ? 0 : $0 / Double(values.count) }
        }
        let genuine = share(true)
        let impostor = share(false)
        let peak = max(genuine.max() ?? 0, impostor.max() ?? 0, 1e-9)
        func x(_ d: Double) -> Double { left + d / largest * plotW }
        func y(_ s: Double) -> Double { top + plotH - s / peak * plotH }
        var svg = [Self.open(width: width, height: height, label: "Histogram of genuine and impostor distances")]
        svg.append(
            "<rect x=\"\(Self.f(left))\" y=\"\(Self.f(top))\" width=\"\(Self.f(plotW))\" height=\"\(Self.f(plotH))\" fill=\"none\" stroke=\"#000\"/>"
        )
        for (name, shares, colour) in [("genuine", genuine, Self.colours[2]), ("impostor", impostor, Self.colours[1])] {
            var points: [String] = ["\(Self.f(x(0))),\(Self.f(y(0)))"]
            for (i, s) in shares.enumerated() {
                let a = Double(i) * largest / Double(bins)
                let b = Double(i + 1) * largest / Double(bins)
                points += ["\(Self.f(x(a))),\(Self.f(y(s)))", "\(Self.f(x(b))),\(Self.f(y(s)))"]
            }
            points.append("\(Self.f(x(largest))),\(Self.f(y(0)))")
            svg.append(
                "<polyline class=\"\(name)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\" points=\"\(points.joined(separator: " "))\"/>"
            )
        }
        svg.append(Self.line(x(threshold), top, x(threshold), top + plotH, colour: "#000000", dashed: true))
        svg.append(
            Self.text(x(threshold) + 4, top + 14, "threshold \(String(format: "%.3f", threshold))", anchor: "start")
        )
        for tick in 0...4 {
            let d = largest * Double(tick) / 4
            svg.append(Self.text(x(d), top + plotH + 16, String(format: "%.2f", d), anchor: "middle"))
        }
        svg.append(Self.text(left + plotW / 2, Double(height) - 10, "distance", anchor: "middle"))
        svg.append(Self.text(left + 8, top + 30, "genuine", anchor: "start", colour: Self.colours[2]))
        svg.append(Self.text(left + 8, top + 46, "impostor", anchor: "start", colour: Self.colours[1]))
        svg.append("</svg>")
        return svg.joined(separator: "\n")
    }

    /// A self-contained HTML page: a title, preformatted sections and the pictures.
    public static func page(
        title: String,
        sections: [(heading: String, text: String)],
        pictures: [(heading: String, svg: String)]
    ) -> String {
        var html = [
            "<!DOCTYPE html>", "<html lang=\"en\"><head><meta charset=\"utf-8\"><title>\(Self.escape(title))</title>",
            "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}pre{background:#f6f6f6;padding:1em;overflow-x:auto}</style>",
            "</head><body>", "<h1>\(Self.escape(title))</h1>",
        ]
        for section in sections {
            html += ["<h2>\(Self.escape(section.heading))</h2>", "<pre>\(Self.escape(section.text))</pre>"]
        }
        for picture in pictures { html += ["<h2>\(Self.escape(picture.heading))</h2>", picture.svg] }
        html.append("</body></html>")
        return html.joined(separator: "\n")
    }

    /// Text safe inside HTML and SVG.
    public static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static func open(width: Int, height: Int, label: String) -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" role=\"img\" aria-label=\"\(Self.escape(label))\">"
    }

    static func line(
        _ x1: Double,
        _ y1: Double,
        _ x2: Double,
        _ y2: Double,
        colour: String,
        dashed: Bool = false
    ) -> String {
        "<line x1=\"\(Self.f(x1))\" y1=\"\(Self.f(y1))\" x2=\"\(Self.f(x2))\" y2=\"\(Self.f(y2))\" stroke=\"\(colour)\"\(dashed ? " stroke-dasharray=\"4 3\"" : "")/>"
    }

    static func text(_ x: Double, _ y: Double, _ content: String, anchor: String, colour: String = "#000") -> String {
        "<text x=\"\(Self.f(x))\" y=\"\(Self.f(y))\" text-anchor=\"\(anchor)\" font-size=\"12\" fill=\"\(colour)\">\(Self.escape(content))</text>"
    }

    static func f(_ v: Double) -> String { String(format: "%.1f", v) }
}
