import ArgumentParser
import Foundation
import SimverifyCommandSupport
import SimverifyCore
import SimverifyFaceEngine
import SimverifyLiveness

struct EvalLivenessCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval-liveness",
        abstract: "Measure liveness error rates (ISO/IEC 30107-3 APCER per attack type, BPCER) on labelled bursts.",
        discussion: """
            FOLDER holds one folder per sequence, each with sequence.json ({"kind", "challenge",
            "frames", "frame_times_ms"}) and its JPEG frames; scripts/make-liveness-sequences.sh
            writes such a folder from the shared fixtures. Or FOLDER has a MANIFEST.tsv (like
            ../shared/fixtures/liveness-video) and --labels names the steps each burst performs.
            Each burst runs through the server's engine and liveness checks with its own challenge;
            one that performs no step, with every challenge the policy can draw, and so is a print,
            screen or screen replay made for a challenge the policy never draws. A bona fide
            burst counts as accepted when it passes every check; an attack counts as accepted (an
            APCER error) likewise. Capture failures (RETRY) are counted as not accepted and shown
            apart; attacks past the capture gates are counted with the checks that refused them.
            """
    )

    @Argument(help: "Folder of labelled sequences.") var folder: String
    @Option(
        help: "For a folder with MANIFEST.tsv: the steps each burst performs (Fixtures/liveness-video/challenges.tsv)."
    ) var labels: String?
    @Flag(help: "Print every sequence's checks.") var verbose = false
    @Option(
        help:
            "Also measure multi-frame matching on the bona fide bursts of people seen in several (a manifest's P01, P02, ...): each burst's best frame plays the ID photo of another burst of the same person (and of everyone else's), matched by that burst's best frame and by the mean of its N most frontal frames."
    ) var fusionFrames: Int?
    @OptionGroup var engine: EngineOptions

    func run() async throws {
        do {
            for line in try await Self.evaluate(
                folder: folder,
                labels: labels,
                verbose: verbose,
                engine: engine,
                fusionFrames: fusionFrames
            ) { print(line) }
        } catch let error as ValidationError {
            throw error
        } catch {
            reportAndExit(error)
        }
    }

    /// Runs every burst of `folder` and returns what `eval-liveness` prints (with `verbose`, a
    /// line per burst first).
    static func evaluate(
        folder: String,
        labels: String?,
        verbose: Bool,
        engine: EngineOptions,
        fusionFrames: Int? = nil
    ) async throws -> [String] {
        var out: [String] = []
        var bonaFide: [BurstFusionStudy.Burst] = []
        do {
            let manifest = (folder as NSString).appendingPathComponent("MANIFEST.tsv")
            let sequences: [(name: String, path: String, sequence: LivenessSequence)]
            if FileManager.default.fileExists(atPath: manifest) {
                guard let labels else {
                    throw ValidationError(
                        "\(folder) is described by MANIFEST.tsv: give --labels (the steps each burst performs)"
                    )
                }
                sequences = try LivenessSequence.load(manifest: manifest, labels: labels)
            } else {
                sequences = try LivenessSequence.load(root: folder)
            }
            guard !sequences.isEmpty else {
                throw ValidationError("\(folder) holds no sequence (folders with sequence.json)")
            }
            let faceEngine = try engine.makeEngine()
            let policy = faceEngine.suggestedPolicy
            let checker = LivenessChecker(
                policy: policy.liveness,
                minimumFaceWidth: policy.minimumSelfieFaceWidth,
                matchFrames: policy.matchFrames
            )
            // As the server judges: only the frames the decision rests on carry an embedding.
            func judge(
                _ observations: [FrameObservation],
                _ challenge: [ChallengeStep],
                _ times: [Int]
            ) -> LivenessReport {
                checker.check(
                    frames: checker.withOnlyNeededEmbeddings(observations, challenge: challenge),
                    challenge: challenge,
                    frameTimes: times
                )
            }
            let drawable = policy.liveness.drawableChallenges
            var tally: [String: Tally] = [:]
            var replays = Tally()
            var notDrawn = 0
            for (name, path, sequence) in sequences {
                let challenges: [[ChallengeStep]]
                if sequence.tryEveryChallenge {
                    challenges = drawable
                } else if sequence.fromManifest {
                    // A manifest burst performs what it performs: the challenge is its steps the policy draws.
                    let steps = sequence.challenge.filter(policy.liveness.allowedSteps.contains)
                    challenges = steps.isEmpty ? [] : [steps]
                } else if sequence.challenge.allSatisfy(policy.liveness.allowedSteps.contains) {
                    challenges = [sequence.challenge]
                } else {
                    // An attack made for a challenge this policy never draws meets the ones it does:
                    // the attacker gets every chance (a replay or an order violation is its challenge).
                    challenges = Self.triedAgainstEveryChallenge.contains(sequence.kind) ? drawable : []
                }
                // A burst performing only steps the policy never asks for answers no challenge it could draw.
                guard !challenges.isEmpty else {
                    notDrawn += 1
                    if verbose {
                        out.append(
                            "\(name) [\(sequence.kind)] SKIPPED: its challenge has a step the \(faceEngine.model) policy never draws"
                        )
                    }
                    continue
                }
                let frames = try sequence.readFrames(at: path, maxBytes: engine.maxFileBytes)
                let analysis = try await faceEngine.analyze(session: frames, reference: nil)
                let observations = analysis.frames.map {
                    (try? $0.get()) ?? FrameObservation(faceCount: 0, face: nil, thumbnail: nil, digest: [])
                }
                var entry = tally[sequence.kind] ?? Tally()
                var acceptedChallenges: [String] = []
                var last: LivenessReport?
                for challenge in challenges {
                    let report = judge(observations, challenge, sequence.frameTimesMs ?? [])
                    entry.add(report)
                    if report.passed { acceptedChallenges.append(challenge.map(\.rawValue).joined(separator: ">")) }
                    last = report
                }
                entry.sequences += 1
                if !acceptedChallenges.isEmpty { entry.sequencesAccepted += 1 }
                tally[sequence.kind] = entry
                // A recording of this live burst replayed against every other challenge the policy
                // draws: how often a pre-recorded performance answers a random challenge.
                if sequence.kind == "live" {
                    for challenge in drawable where challenge != challenges[0] {
                        replays.add(judge(observations, challenge, sequence.frameTimesMs ?? []))
                    }
                }
                if let report = last, !sequence.isAttack, let person = sequence.person {
                    bonaFide.append(
                        BurstFusionStudy.Burst(
                            name: name,
                            person: person,
                            frontal: report.frontalFrames.compactMap { observations[$0].face?.embedding }
                        )
                    )
                }
                if verbose, let report = last {
                    let poses = report.poses.map {
                        $0.map { String(format: "%+.2f/%.2f/%.0f", $0.yaw, $0.pitch, $0.eyeDistance) } ?? "-"
                    }
                    let verdict =
                        challenges.count == 1
                        ? (report.passed ? "PASS" : "FAIL") + " "
                            + (report.captureProblems + report.failures).map(\.rawValue).joined(separator: ",")
                            + " challenge=\(challenges[0].map(\.rawValue).joined(separator: ">")) steps=\(report.stepFrames.map { $0.map(String.init) ?? "-" })"
                        : "accepted for \(acceptedChallenges.count) of \(challenges.count) challenges\(acceptedChallenges.isEmpty ? "" : " (" + acceptedChallenges.joined(separator: ", ") + ")")"
                            + "; last: "
                            + (report.captureProblems + report.failures).map(\.rawValue).joined(separator: ",")
                    out.append(
                        "\(name) [\(sequence.kind)] \(verdict)"
                            + " start=\(report.startFrame.map(String.init) ?? "-")"
                            + " missing=\(report.missingFrames.map { "\($0.frame):\($0.reason.rawValue)" }.joined(separator: ","))"
                            + " spread=\(report.identitySpread.map { String(format: "%.3f", $0) } ?? "-")"
                            + " change=\(zip(observations, observations.dropFirst()).map { a, b in a.thumbnail.flatMap { x in b.thumbnail.map { String(format: "%.1f", x.meanAbsoluteDifference(to: $0)) } } ?? "-" }.joined(separator: ","))"
                            + " screenpattern=\(report.screenPattern.map { String(format: "%.1f", $0) } ?? "-")"
                            + " nonplanar=\(report.nonPlanarity.map { String(format: "%.2f", $0) } ?? "-")"
                            + " sharp=\(observations.map { String(format: "%.0f", $0.face?.sharpness ?? -1) }.joined(separator: ","))"
                            + " bright=\(observations.map { String(format: "%.0f", $0.face?.brightness ?? -1) }.joined(separator: ","))"
                            + " screen=\(observations.map { $0.face?.screenPattern.map { String(format: "%.1f", $0) } ?? "-" }.joined(separator: ","))"
                            + " width=\(observations.map { String($0.face?.width ?? 0) }.joined(separator: ","))"
                            + " tracked=\(observations.indices.filter { observations[$0].face?.tracked == true }.map(String.init).joined(separator: ","))"
                            + " poses(yaw/pitch/eyes)=\(poses.joined(separator: " "))"
                    )
                }
            }
            await faceEngine.shutdown()
            out.append(
                "model \(faceEngine.model), challenge steps drawn from \(policy.liveness.allowedSteps.map(\.rawValue).joined(separator: ", ")); \(notDrawn) bursts skipped whose challenge the policy never draws"
            )
            out.append(Self.summary(tally, policy: policy.liveness))
            if let fusionFrames {
                out.append(
                    BurstFusionStudy(bursts: bonaFide, frames: fusionFrames).text(policyThreshold: policy.threshold)
                )
            }
            if replays.total > 0 {
                out.append(
                    String(
                        format:
                            "live bursts replayed against every other challenge of the %d the policy draws: accepted %d of %d (%.3f)",
                        drawable.count,
                        replays.accepted,
                        replays.total,
                        Double(replays.accepted) / Double(replays.total)
                    )
                )
            }
        }
        return out
    }

    /// Trials (a burst against one challenge) of one kind.
    struct Tally {
        var total = 0, accepted = 0, capture = 0
        /// Trials past the capture gates, and of those the ones a liveness check refused, by reason.
        var pastCapture = 0, refusedByCheck = 0
        var reasons: [ReasonCode: Int] = [:]
        var sequences = 0, sequencesAccepted = 0

        mutating func add(_ report: LivenessReport) {
            self.total += 1
            if report.passed { self.accepted += 1 }
            if !report.captureProblems.isEmpty {
                self.capture += 1
                return
            }
            self.pastCapture += 1
            if !report.failures.isEmpty { self.refusedByCheck += 1 }
            for reason in report.failures { self.reasons[reason, default: 0] += 1 }
        }
    }

    /// Attack kinds tried against every challenge the policy draws when their own has a step it
    /// never draws: planar attacks and screen replays (their screen is what is judged).
    static let triedAgainstEveryChallenge: Set<String> = ["print", "screen", "screen_replay"]

    static func summary(_ tally: [String: Tally], policy: LivenessPolicy) -> String {
        var lines = [
            "liveness policy: turn >= \(policy.turnYaw), look up >= \(policy.lookUpPitch), look down >= \(policy.lookDownPitch), "
                + "closer >= x\(policy.moveCloserScale), identity spread <= \(policy.maximumIdentitySpread), "
                + "non-planarity >= \(policy.minimumNonPlanarity) (tolerance \(policy.homographyTolerance) px, >= \(policy.minimumTrackedPoints) points), "
                + "duplicate < \(policy.duplicateFrameDifference) grey levels, sharpness >= \(policy.minimumSharpness), "
                + "lower-face skin >= \(policy.minimumLowerFaceSkin), screen pattern <= \(policy.maximumScreenPattern), "
                + "usable frames >= \(policy.minimumUsableFrames) and \(Int(policy.minimumUsableShare * 100)) %",
            "kind            trials  accepted  capture-failures  error rate     past capture: refused by a check",
        ]
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
        for kind in tally.keys.sorted() {
            let t = tally[kind]!
            let rate: String =
                switch kind {
                case "live": String(format: "BPCER %.3f", Double(t.total - t.accepted) / Double(t.total))
                case "live_still": String(format: "accepted %.3f", Double(t.accepted) / Double(t.total))
                default: String(format: "APCER %.3f", Double(t.accepted) / Double(t.total))
                }
            let reasons = t.reasons.sorted {
                $0.value != $1.value ? $0.value > $1.value : $0.key.rawValue < $1.key.rawValue
            }
            .map { "\($0.key.rawValue) \($0.value)" }.joined(separator: ", ")
            lines.append(
                pad(kind, 16) + pad(String(t.total), 8) + pad(String(t.accepted), 10) + pad(String(t.capture), 18)
                    + pad(rate, 15)
                    + "\(t.refusedByCheck) of \(t.pastCapture)" + (reasons.isEmpty ? "" : " (\(reasons))")
            )
        }
        if let live = tally["live"], live.total > 0 {
            lines.append(
                String(
                    format: "BPCER (live, performing the challenge): %.3f (%d of %d rejected)",
                    Double(live.total - live.accepted) / Double(live.total),
                    live.total - live.accepted,
                    live.total
                )
            )
        }
        let attacks = tally.filter { !LivenessSequence.bonaFideKinds.contains($0.key) }
        // Ties (every attack type at 0) name the first type alphabetically, not a hash order's.
        if let worst = attacks.sorted(by: { $0.key < $1.key }).max(by: {
            Double($0.value.accepted) / Double($0.value.total) < Double($1.value.accepted) / Double($1.value.total)
        }) {
            lines.append(
                String(
                    format: "worst APCER: %@ %.3f",
                    worst.key,
                    Double(worst.value.accepted) / Double(worst.value.total)
                )
            )
        }
        let past = attacks.values.reduce(0) { $0 + $1.pastCapture }
        let refused = attacks.values.reduce(0) { $0 + $1.refusedByCheck }
        if past > 0 {
            lines.append(
                String(
                    format: "attacks past the capture gates refused by a liveness check: %d of %d (%.0f %%)",
                    refused,
                    past,
                    100 * Double(refused) / Double(past)
                )
            )
        }
        return lines.joined(separator: "\n")
    }
}
