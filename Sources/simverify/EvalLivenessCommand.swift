import ArgumentParser
import Foundation
import SimverifyCore
import SimverifyFaceEngine
import SimverifyLiveness

/// One labelled burst on disk: a folder with `sequence.json` and its frames.
struct LivenessSequence: Decodable {
    /// "live" (bona fide, performs its challenge), "live_still" (bona fide that does not move), or
    /// an attack type: "print", "screen", "replay", "order".
    var kind: String
    var challenge: [ChallengeStep]
    var frames: [String]
    var frameTimesMs: [Int]?
    var note: String?

    enum CodingKeys: String, CodingKey {
        case kind, challenge, frames, note
        case frameTimesMs = "frame_times_ms"
    }

    static let bonaFideKinds: Set<String> = ["live", "live_still"]
    var isAttack: Bool { !Self.bonaFideKinds.contains(self.kind) }

    /// Every sequence under `root` (folders holding a sequence.json), sorted by name.
    static func load(root: String) throws -> [(name: String, path: String, sequence: LivenessSequence)] {
        let names = try FileManager.default.contentsOfDirectory(atPath: root).sorted()
        return try names.compactMap { name in
            let path = (root as NSString).appendingPathComponent(name)
            let file = (path as NSString).appendingPathComponent("sequence.json")
            guard FileManager.default.fileExists(atPath: file) else { return nil }
            do {
                return (name, path, try JSONDecoder().decode(LivenessSequence.self, from: Data(contentsOf: URL(fileURLWithPath: file))))
            } catch {
                throw ValidationError("\(file): not a sequence description (\(error))")
            }
        }
    }

    /// The frames' bytes, in zeroizing buffers.
    func readFrames(at path: String, maxBytes: Int) throws -> [ZeroizingBuffer] {
        try self.frames.map { try ZeroizingBuffer(contentsOfFile: (path as NSString).appendingPathComponent($0), maxBytes: maxBytes) }
    }
}

struct EvalLivenessCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval-liveness",
        abstract: "Measure liveness error rates (ISO/IEC 30107-3 APCER per attack type, BPCER) on labelled bursts.",
        discussion: """
            FOLDER holds one folder per sequence, each with sequence.json ({"kind", "challenge",
            "frames", "frame_times_ms"}) and its JPEG frames; scripts/make-liveness-sequences.sh
            writes such a folder from the shared fixtures. Each burst runs through the server's
            engine and liveness checks with its own challenge. A bona fide burst counts as
            accepted when it passes every check; an attack counts as accepted (an APCER error)
            likewise. Capture failures (RETRY) are counted as not accepted and shown apart.
            """
    )

    @Argument(help: "Folder of labelled sequences.") var folder: String
    @Flag(help: "Print every sequence's checks.") var verbose = false
    @OptionGroup var engine: EngineOptions

    func run() async throws {
        do {
            let sequences = try LivenessSequence.load(root: folder)
            guard !sequences.isEmpty else { throw ValidationError("\(folder) holds no sequence (folders with sequence.json)") }
            let faceEngine = try engine.makeEngine()
            let policy = faceEngine.suggestedPolicy
            let checker = LivenessChecker(policy: policy.liveness, minimumFaceWidth: policy.minimumSelfieFaceWidth)
            var tally: [String: (total: Int, accepted: Int, capture: Int)] = [:]
            var notDrawn = 0
            for (name, path, sequence) in sequences {
                // A burst performing a step the policy never asks for answers no challenge it could draw.
                guard sequence.challenge.allSatisfy(policy.liveness.allowedSteps.contains) else {
                    notDrawn += 1
                    if verbose { print("\(name) [\(sequence.kind)] SKIPPED: its challenge has a step the \(engine.model) policy never draws") }
                    continue
                }
                let frames = try sequence.readFrames(at: path, maxBytes: engine.maxFileBytes)
                let analysis = try await faceEngine.analyze(session: frames, reference: nil)
                let observations = analysis.frames.map { (try? $0.get()) ?? FrameObservation(faceCount: 0, face: nil, thumbnail: nil, digest: []) }
                let report = checker.check(frames: observations, challenge: sequence.challenge, frameTimes: sequence.frameTimesMs ?? [])
                var entry = tally[sequence.kind] ?? (0, 0, 0)
                entry.total += 1
                if report.passed { entry.accepted += 1 }
                if !report.captureProblems.isEmpty { entry.capture += 1 }
                tally[sequence.kind] = entry
                if verbose {
                    let poses = report.poses.map { $0.map { String(format: "%+.2f/%.2f/%.0f", $0.yaw, $0.pitch, $0.eyeDistance) } ?? "-" }
                    print(
                        "\(name) [\(sequence.kind)] \(report.passed ? "PASS" : "FAIL") "
                            + "\((report.captureProblems + report.failures).map(\.rawValue).joined(separator: ","))"
                            + " challenge=\(sequence.challenge.map(\.rawValue).joined(separator: ">")) steps=\(report.stepFrames.map { $0.map(String.init) ?? "-" })"
                            + " spread=\(report.identitySpread.map { String(format: "%.3f", $0) } ?? "-")"
                            + " nonplanar=\(report.nonPlanarity.map { String(format: "%.2f", $0) } ?? "-")"
                            + " sharp=\(observations.map { String(format: "%.0f", $0.face?.sharpness ?? -1) }.joined(separator: ","))"
                            + " width=\(observations.map { String($0.face?.width ?? 0) }.joined(separator: ","))"
                            + " poses(yaw/pitch/eyes)=\(poses.joined(separator: " "))"
                    )
                }
            }
            await faceEngine.shutdown()
            print("model \(engine.model), challenge steps drawn from \(policy.liveness.allowedSteps.map(\.rawValue).joined(separator: ", ")); \(notDrawn) bursts skipped whose challenge the policy never draws")
            print(Self.summary(tally, policy: policy.liveness))
        } catch let error as ValidationError {
            throw error
        } catch {
            reportAndExit(error)
        }
    }

    static func summary(_ tally: [String: (total: Int, accepted: Int, capture: Int)], policy: LivenessPolicy) -> String {
        var lines = [
            "liveness policy: turn >= \(policy.turnYaw), look up >= \(policy.lookUpPitch), look down >= \(policy.lookDownPitch), "
                + "closer >= x\(policy.moveCloserScale), identity spread <= \(policy.maximumIdentitySpread), "
                + "non-planarity >= \(policy.minimumNonPlanarity) (tolerance \(policy.homographyTolerance) px, >= \(policy.minimumTrackedPoints) points), "
                + "duplicate < \(policy.duplicateFrameDifference) grey levels, sharpness >= \(policy.minimumSharpness)",
            "kind            sequences  accepted  capture-failures  error rate",
        ]
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
        for kind in tally.keys.sorted() {
            let t = tally[kind]!
            let bonaFide = LivenessSequence.bonaFideKinds.contains(kind)
            let rate = bonaFide ? Double(t.total - t.accepted) / Double(t.total) : Double(t.accepted) / Double(t.total)
            lines.append(
                pad(kind, 16) + pad(String(t.total), 11) + pad(String(t.accepted), 10) + pad(String(t.capture), 18)
                    + String(format: "%@ %.3f", bonaFide ? "BPCER" : "APCER", rate)
            )
        }
        let live = tally["live"] ?? (0, 0, 0)
        if live.total > 0 {
            lines.append(String(format: "BPCER (live, performing the challenge): %.3f (%d of %d rejected)", Double(live.total - live.accepted) / Double(live.total), live.total - live.accepted, live.total))
        }
        let attacks = tally.filter { !LivenessSequence.bonaFideKinds.contains($0.key) }
        if let worst = attacks.max(by: { Double($0.value.accepted) / Double($0.value.total) < Double($1.value.accepted) / Double($1.value.total) }) {
            lines.append(String(format: "worst APCER: %@ %.3f", worst.key, Double(worst.value.accepted) / Double(worst.value.total)))
        }
        return lines.joined(separator: "\n")
    }
}
