import ArgumentParser
import Foundation
import SimverifyCore
import SimverifyFaceEngine

/// Chooses a policy threshold from labelled pairs: the highest distance whose false-match rate
/// on them is at most the target, with what the pairs can and cannot show about it.
struct CalibrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Choose the threshold that holds a target false-match rate on labelled pairs, and write the policy fragment.",
        discussion: """
            PAIRS as for eval. Prints the highest threshold whose FMR on the impostor pairs is at most
            --target-fmr, FMR and FNMR there with counts and 95 % Wilson intervals, whether the
            same for the highest threshold whose FMR's 95 % upper bound is at most the target (or how
            many impostor pairs it would take to show it), and a policy fragment (JSON) with the
            threshold (the first; --with-confidence: the second) and review band, to stdout or --out.
            """
    )

    @Argument(help: "The pairs file.") var pairs: String
    @Option(help: "Directory the image paths are relative to (default: the pairs file's directory).") var root: String?
    @Option(help: "The largest false-match rate allowed on the pairs.") var targetFmr: Double = 0.01
    @Option(help: "The review band around the threshold (distances within it go to manual review).") var reviewBand: Double = 0.03
    @Option(help: "The policy version to write (default: calibrated-MODEL-fmrTARGET).") var policyVersion: String?
    @Option(help: "Write the policy fragment here instead of standard output.") var out: String?
    @Flag(help: "Write the threshold whose FMR's 95 % upper bound meets the target, not the one whose FMR on the pairs does.") var withConfidence = false
    @OptionGroup var engine: EngineOptions

    func validate() throws {
        guard self.targetFmr > 0, self.targetFmr < 1 else { throw ValidationError("--target-fmr is a rate between 0 and 1") }
        guard self.reviewBand >= 0 else { throw ValidationError("--review-band cannot be negative") }
    }

    func run() async throws {
        do {
            let (table, enrolment, faceEngine) = try await Enrolment.run(pairs: pairs, root: root, engine: engine)
            let report = EvalReport(table: table, enrolment: enrolment, maxFMR: targetFmr, policyThreshold: faceEngine.suggestedPolicy.threshold)
            let calibration = try ThresholdCalibration(pairs: report.scoredPairs.map(\.scored), targetFMR: targetFmr)
            print("pairs: \(calibration.genuine) genuine, \(calibration.impostor) impostor (\(report.pairsExcluded) excluded: an image failed to enrol)")
            print(calibration.text)
            var policy = faceEngine.suggestedPolicy
            policy.version = policyVersion ?? "calibrated-\(faceEngine.model)-fmr\(targetFmr)"
            let chosen: Double
            if withConfidence {
                guard let conservative = calibration.conservative else {
                    throw ValidationError("these pairs cannot show the target with 95 % confidence: no fragment written")
                }
                chosen = conservative.threshold
            } else {
                chosen = calibration.threshold
            }
            policy.threshold = (chosen * 10_000).rounded() / 10_000
            policy.reviewBand = reviewBand
            let fragment: [String: Any] = [
                "policy": ["version": policy.version, "model": policy.model.rawValue, "threshold": policy.threshold, "reviewBand": policy.reviewBand]
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

