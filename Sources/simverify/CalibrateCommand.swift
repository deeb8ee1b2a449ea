import ArgumentParser
import Foundation
import SimverifyCommandSupport
import SimverifyCore
import SimverifyEnrolment
import SimverifyFaceEngine

/// Chooses a policy threshold from labelled pairs: the highest distance whose false-match rate
/// on them is at most the target, with what the pairs can and cannot show about it.
struct CalibrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract:
            "Choose the threshold that holds a target false-match rate on labelled pairs, and write the policy fragment.",
        discussion: """
            PAIRS as for eval, one file or several (each file's images relative to its own folder;
            --root only with one file), calibrated together. Prints the highest threshold whose FMR on the impostor pairs is at most
            --target-fmr, FMR and FNMR there with counts and 95 % Wilson intervals, whether the
            same for the highest threshold whose FMR's 95 % upper bound is at most the target (or how
            many impostor pairs it would take to show it), and a policy fragment (JSON) with the
            threshold (the first; --with-confidence: the second) and review band, to stdout or --out.
            """
    )

    @Argument(help: "The pairs files.") var pairs: [String]
    @Option(help: "Directory the image paths are relative to (default: the pairs file's directory).") var root: String?
    @Option(help: "The largest false-match rate allowed on the pairs.") var targetFmr: Double = 0.01
    @Option(help: "The review band around the threshold (distances within it go to manual review).") var reviewBand:
        Double = 0.03
    @Option(help: "The policy version to write (default: calibrated-MODEL-fmrTARGET).") var policyVersion: String?
    @Option(help: "Write the policy fragment here instead of standard output.") var out: String?
    @Flag(
        help:
            "Write the threshold whose FMR's 95 % upper bound meets the target, not the one whose FMR on the pairs does."
    ) var withConfidence = false
    @OptionGroup var engine: EngineOptions

    func validate() throws {
        guard !self.pairs.isEmpty else { throw ValidationError("name at least one pairs file") }
        guard self.root == nil || self.pairs.count == 1 else {
            throw ValidationError("--root goes with one pairs file; several are each read relative to their folder")
        }
        guard self.targetFmr > 0, self.targetFmr < 1 else {
            throw ValidationError("--target-fmr is a rate between 0 and 1")
        }
        guard self.reviewBand >= 0 else { throw ValidationError("--review-band cannot be negative") }
    }

    func run() async throws {
        do {
            let faceEngine = try engine.makeEngine()
            var scored: [ScoredPair] = []
            var excluded = 0
            for file in pairs {
                let (table, enrolment) = try await Enrolment.run(pairs: file, root: root, engine: faceEngine)
                let report = EvalReport(
                    table: table,
                    enrolment: enrolment,
                    maxFMR: targetFmr,
                    policyThreshold: faceEngine.suggestedPolicy.threshold
                )
                scored += report.scoredPairs.map(\.scored)
                excluded += report.pairsExcluded
                if pairs.count > 1 {
                    print(
                        "\(file): \(report.genuinePairs) genuine, \(report.impostorPairs) impostor, \(report.pairsExcluded) excluded"
                    )
                }
            }
            await faceEngine.shutdown()
            let calibration = try ThresholdCalibration(pairs: scored, targetFMR: targetFmr)
            print(
                "pairs: \(calibration.genuine) genuine, \(calibration.impostor) impostor (\(excluded) excluded: an image failed to enrol)"
            )
            print(calibration.text)
            var policy = faceEngine.suggestedPolicy
            policy.version = policyVersion ?? "calibrated-\(faceEngine.model)-fmr\(targetFmr)"
            let chosen: Double
            if withConfidence {
                guard let conservative = calibration.conservative else {
                    throw ValidationError(
                        "these pairs cannot show the target with 95 % confidence: no fragment written"
                    )
                }
                chosen = conservative.threshold
            } else {
                chosen = calibration.threshold
            }
            policy.threshold = (chosen * 10_000).rounded() / 10_000
            policy.reviewBand = reviewBand
            let fragment: [String: Any] = [
                "policy": [
                    "version": policy.version, "model": policy.model.rawValue, "threshold": policy.threshold,
                    "reviewBand": policy.reviewBand,
                ]
            ]
            let data = try JSONSerialization.data(withJSONObject: fragment, options: [.prettyPrinted, .sortedKeys])
            if let out {
                try data.write(to: URL(fileURLWithPath: out))
                print("policy fragment written to \(out)")
            } else {
                print(String(decoding: data, as: UTF8.self))
            }
        } catch let error as ValidationError {
            throw error
        } catch {
            reportAndExit(error)
        }
    }
}
