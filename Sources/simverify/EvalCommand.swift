import ArgumentParser
import Foundation
import SimverifyCommandSupport
import SimverifyCore
import SimverifyEnrolment
import SimverifyFaceEngine

struct EvalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Measure match error rates on a file of labelled image pairs.",
        discussion: """
            PAIRS is tab-separated with a header: imageA, imageB, same (1 or 0), image paths relative
            to --root. Prints failures to enrol (images with no face), images with several faces (the
            largest is used), FMR and FNMR across thresholds, the equal error rate, and the highest
            threshold with FMR at most --max-fmr with its FNMR. With --groups MANIFEST.tsv (columns
            file and the --group-by columns, image paths as in PAIRS), also FMR and FNMR per group
            at the policy threshold and at the whole set's EER threshold, with counts and 95 %
            Wilson intervals, and the worst group's FMR over the whole set's.
            """
    )

    @Argument(help: "The pairs file.") var pairs: String
    @Option(help: "Directory the image paths are relative to (default: the pairs file's directory).") var root: String?
    @Option(help: "Largest false-match rate for the reported operating point.") var maxFmr: Double = 1e-3
    @Option(help: "Distance threshold of the policy, reported alongside (default: the shipped policy's for the model).")
    var threshold: Double?
    @Option(help: "A manifest (tab-separated, with a file column) giving each image's groups.") var groups: String?
    @Option(help: "The manifest columns to group by, comma-separated.") var groupBy = "gender"
    @Option(
        help:
            "With --groups (its person column): also compare each person's first photo with a burst of their next N, by the first frame and by the mean of the burst."
    ) var fusionFrames: Int?
    @Option(
        help:
            "Write a self-contained HTML report (the tables, a DET curve per group, the distance histogram) to this file."
    ) var report: String?
    @Option(
        help:
            "Kind of the imageA images: selfie, or id-card (analysed as the server analyses ID cards, and reported under the policy's ID-card rules)."
    ) var firstKind = "selfie"
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var engine: EngineOptions

    func run() async throws {
        do {
            guard let kind = ImageKind(rawValue: firstKind) else {
                throw ValidationError("--first-kind is selfie or id-card")
            }
            let (table, enrolment, faceEngine) = try await Enrolment.run(
                pairs: pairs,
                root: root,
                engine: engine,
                firstKind: kind
            )
            var evaluation = EvalReport(
                table: table,
                enrolment: enrolment,
                maxFMR: maxFmr,
                policyThreshold: threshold ?? faceEngine.suggestedPolicy.threshold
            )
            if kind == .idCard {
                evaluation.idCards = IDCardCapture(
                    cards: enrolment.faceWidths(of: table.pairs.map(\.a)),
                    policy: faceEngine.suggestedPolicy
                )
            }
            if let groups {
                try evaluation.group(
                    by: Manifest(path: groups),
                    columns: groupBy.split(separator: ",").map(String.init),
                    table: table,
                    enrolment: enrolment,
                    fusionFrames: fusionFrames
                )
            }
            if let report {
                try Data(evaluation.html(modelVersion: faceEngine.modelVersion, command: CommandLine.arguments).utf8)
                    .write(to: URL(fileURLWithPath: report))
            }
            if json { printJSON(evaluation) } else { print(evaluation.text) }
            if let report, !json { print("report written to \(report)") }
        } catch let error as ValidationError {
            throw error
        } catch {
            reportAndExit(error)
        }
    }
}

extension Enrolment {
    /// Reads a pairs file, embeds every image it names with a new engine (shut down again), and
    /// returns the table, the enrolment and the engine (for its model and policy).
    /// With `firstKind` other than selfie, the images of column imageA are analysed as that
    /// kind (an ID card's portrait), and no image may be in both columns.
    static func run(
        pairs: String,
        root: String?,
        engine options: EngineOptions,
        firstKind: ImageKind = .selfie
    ) async throws -> (PairsFile, Enrolment, FaceEngine) {
        let engine = try options.makeEngine()
        let (table, enrolment) = try await Self.run(pairs: pairs, root: root, engine: engine, firstKind: firstKind)
        await engine.shutdown()
        return (table, enrolment, engine)
    }
}

/// Everything `eval` prints.
struct EvalReport: Encodable {
    struct Row: Encodable {
        var threshold: Double
        var fmr: Double
        var fnmr: Double
    }
    var images: Int
    var failuresToEnrol: [String]
    var unreadable: [String: String]
    var severalFaces: [String]
    var genuinePairs: Int
    var impostorPairs: Int
    var pairsExcluded: Int
    var genuineDistanceRange: [Double]
    var impostorDistanceRange: [Double]
    var table: [Row]
    var equalErrorRate: Double?
    var equalErrorRateThreshold: Double?
    var maxFMR: Double
    var thresholdAtMaxFMR: Double?
    var fnmrAtMaxFMR: Double?
    var fmrResolution: Double?
    var policyThreshold: Double
    var policyPoint: Row
    /// Rates by group, when a manifest was given.
    var groups: [GroupedErrorRates]?
    /// The multi-frame matching study, when asked for.
    var fusion: String?
    /// With --first-kind id-card: the cards under the policy's ID-card rules.
    var idCards: IDCardCapture?
    /// The scored pairs, for grouping (not encoded).
    var scoredPairs: [(a: String, b: String, scored: ScoredPair)] = []
    /// The pairs of each group of the first grouping, for the report's DET curves (not encoded).
    var groupMembers: [String: [ScoredPair]]?

    enum CodingKeys: String, CodingKey {
        case images, failuresToEnrol, unreadable, severalFaces, genuinePairs, impostorPairs, pairsExcluded,
            genuineDistanceRange
        case impostorDistanceRange, table, equalErrorRate, equalErrorRateThreshold, maxFMR, thresholdAtMaxFMR,
            fnmrAtMaxFMR
        case fmrResolution, policyThreshold, policyPoint, groups, fusion, idCards, genuineDistanceMedian
    }

    /// The median genuine distance (with a pairs file of cards against their own portraits: the
    /// cards' shift).
    var genuineDistanceMedian: Double?

    init(table: PairsFile, enrolment: Enrolment, maxFMR: Double, policyThreshold: Double) {
        var scored: [ScoredPair] = []
        var excluded = 0
        for pair in table.pairs {
            guard let a = enrolment.embeddings[pair.a], let b = enrolment.embeddings[pair.b] else {
                excluded += 1
                continue
            }
            scored.append(ScoredPair(distance: a.distance(to: b), genuine: pair.same))
            self.scoredPairs.append((pair.a, pair.b, scored[scored.count - 1]))
        }
        let rates = MatchErrorRates(pairs: scored)
        self.images = table.images.count
        self.failuresToEnrol = enrolment.noFace
        self.unreadable = enrolment.unreadable
        self.severalFaces = enrolment.severalFaces
        self.genuinePairs = rates.genuineDistances.count
        self.impostorPairs = rates.impostorDistances.count
        self.pairsExcluded = excluded
        let genuine = rates.genuineDistances
        self.genuineDistanceMedian =
            genuine.isEmpty
            ? nil
            : genuine.count % 2 == 1
                ? genuine[genuine.count / 2] : (genuine[genuine.count / 2 - 1] + genuine[genuine.count / 2]) / 2
        self.genuineDistanceRange = [rates.genuineDistances.first, rates.genuineDistances.last].compactMap { $0 }
        self.impostorDistanceRange = [rates.impostorDistances.first, rates.impostorDistances.last].compactMap { $0 }
        self.table = stride(from: 0.20, through: 0.901, by: 0.05).map {
            Row(threshold: $0, fmr: rates.falseMatchRate(at: $0), fnmr: rates.falseNonMatchRate(at: $0))
        }
        self.equalErrorRate = rates.equalErrorRate?.rate
        self.equalErrorRateThreshold = rates.equalErrorRate?.threshold
        self.maxFMR = maxFMR
        let point = rates.operatingPoint(maximumFalseMatchRate: maxFMR)
        self.thresholdAtMaxFMR = point?.threshold
        self.fnmrAtMaxFMR = point?.falseNonMatchRate
        self.fmrResolution = rates.impostorDistances.isEmpty ? nil : 1 / Double(rates.impostorDistances.count)
        self.policyThreshold = policyThreshold
        self.policyPoint = Row(
            threshold: policyThreshold,
            fmr: rates.falseMatchRate(at: policyThreshold),
            fnmr: rates.falseNonMatchRate(at: policyThreshold)
        )
    }

    /// Adds rates by the manifest's `columns` (pairs whose two images share a group) and, with
    /// `fusionFrames`, the multi-frame study over the manifest's people.
    mutating func group(
        by manifest: Manifest,
        columns: [String],
        table: PairsFile,
        enrolment: Enrolment,
        fusionFrames: Int?
    ) throws {
        if let fusionFrames {
            let person = try manifest.column("person")
            let stratum = (try? manifest.column("gender")) ?? [:]
            var byPerson: [String: [String]] = [:]
            for image in table.images where enrolment.embeddings[image] != nil {
                if let name = person[image] { byPerson[name, default: []].append(image) }
            }
            let people = byPerson.keys.sorted().map { name in
                let images = byPerson[name]!.sorted()
                return FusionStudy.Person(
                    name: name,
                    stratum: stratum[images[0]] ?? "",
                    embeddings: images.compactMap { enrolment.embeddings[$0] }
                )
            }
            self.fusion = FusionStudy(people: people, frames: fusionFrames).text(
                maximumFMR: self.maxFMR,
                policyThreshold: self.policyThreshold
            )
        }
        if let first = columns.first {
            let groupOf = try manifest.column(first)
            var members: [String: [ScoredPair]] = [:]
            for pair in self.scoredPairs {
                if let a = groupOf[pair.a], a == groupOf[pair.b] { members[a, default: []].append(pair.scored) }
            }
            self.groupMembers = members
        }
        let scored = self.scoredPairs
        let policyThreshold = self.policyThreshold
        self.groups = try columns.map { column in
            let groupOf = try manifest.column(column)
            return GroupedErrorRates(
                attribute: column,
                pairs: scored,
                groupOf: { groupOf[$0] },
                policyThreshold: policyThreshold
            )
        }
    }

    /// The DET curves (by the first grouping when there is one) and the distance histogram.
    var pictures: [(heading: String, svg: String)] {
        let all = self.scoredPairs.map(\.scored)
        var pictures: [(heading: String, svg: String)] = []
        if let grouped = self.groups?.first, let manifestGroups = self.groupMembers {
            let series =
                grouped.groups.dropLast().map { g in (name: g.group, pairs: manifestGroups[g.group] ?? []) } + [
                    (name: "all", pairs: all)
                ]
            pictures.append(
                (
                    "DET curve by \(grouped.attribute) (dots: the policy threshold \(MatchPolicy.text(threshold: self.policyThreshold)))",
                    ErrorRatePlots.det(series, marks: [self.policyThreshold])
                )
            )
        } else {
            pictures.append(
                (
                    "DET curve (dot: the policy threshold)",
                    ErrorRatePlots.det([(name: "all", pairs: all)], marks: [self.policyThreshold])
                )
            )
        }
        pictures.append(
            (
                "Distances, genuine and impostor pairs (each as a share of its kind)",
                ErrorRatePlots.histogram(all, threshold: self.policyThreshold)
            )
        )
        return pictures
    }

    /// The report as a self-contained HTML page: how it was made, the tables, the pictures.
    func html(modelVersion: String, command: [String]) -> String {
        let date = ISO8601DateFormatter().string(from: Date())
        return ErrorRatePlots.page(
            title: "simverify eval: match error rates",
            sections: [
                ("How it was made", "date \(date)\nmodel \(modelVersion)\ncommand: " + command.joined(separator: " ")),
                ("Rates", self.text),
            ],
            pictures: self.pictures
        )
    }

    var text: String {
        func f(_ v: Double?, _ digits: Int = 4) -> String { v.map { String(format: "%.\(digits)f", $0) } ?? "n/a" }
        var lines: [String] = []
        lines.append(
            "images: \(images), failures to enrol (no face): \(failuresToEnrol.count)\(failuresToEnrol.isEmpty ? "" : " " + failuresToEnrol.joined(separator: ", "))"
        )
        if !unreadable.isEmpty {
            lines.append("unreadable: " + unreadable.map { "\($0.key) (\($0.value))" }.sorted().joined(separator: ", "))
        }
        if !severalFaces.isEmpty {
            lines.append(
                "several faces (largest used): \(severalFaces.count): " + severalFaces.prefix(8).joined(separator: ", ")
                    + (severalFaces.count > 8 ? ", ..." : "")
            )
        }
        lines.append(
            "pairs: \(genuinePairs) genuine, \(impostorPairs) impostor, \(pairsExcluded) excluded (an image failed to enrol)"
        )
        lines.append(
            "distances: genuine \(f(genuineDistanceRange.first))-\(f(genuineDistanceRange.last)), impostor \(f(impostorDistanceRange.first))-\(f(impostorDistanceRange.last))"
        )
        lines.append("genuine distance median \(f(genuineDistanceMedian))")
        if let idCards { lines.append(idCards.text) }
        lines.append("threshold   FMR      FNMR")
        for row in table { lines.append(String(format: "  %.2f     %.4f   %.4f", row.threshold, row.fmr, row.fnmr)) }
        lines.append("EER \(f(equalErrorRate)) at threshold \(f(equalErrorRateThreshold))")
        lines.append(
            "FMR <= \(maxFMR): threshold \(f(thresholdAtMaxFMR)), FNMR \(f(fnmrAtMaxFMR)) (FMR resolution 1/\(impostorPairs) = \(f(fmrResolution, 5)))"
        )
        lines.append(
            "policy threshold \(MatchPolicy.text(threshold: policyThreshold)): FMR \(f(policyPoint.fmr)), FNMR \(f(policyPoint.fnmr))"
        )
        for grouped in groups ?? [] { lines.append(grouped.text) }
        if let fusion { lines.append(fusion) }
        return lines.joined(separator: "\n")
    }
}
