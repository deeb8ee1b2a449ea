import ArgumentParser
import Foundation
import SimverifyCore

/// One labelled burst on disk: a folder with `sequence.json` and its frames.
package struct LivenessSequence: Decodable {
    /// "live" (bona fide, performs its challenge), "live_still" (bona fide that does not move), or
    /// an attack type: "print", "screen", "replay", "order".
    package var kind: String
    package var challenge: [ChallengeStep]
    package var frames: [String]
    package var frameTimesMs: [Int]?
    package var note: String?
    /// A burst that performs no step (manifest "-"): tried with every challenge the policy draws.
    package var tryEveryChallenge = false
    /// From a manifest: `challenge` is what the burst performs, of which the policy's steps are asked.
    package var fromManifest = false
    /// From a manifest: who is filmed (the note's leading "P01", "P02", ...).
    package var person: String?

    package init(kind: String, challenge: [ChallengeStep], frames: [String], frameTimesMs: [Int]?, note: String?) {
        self.kind = kind
        self.challenge = challenge
        self.frames = frames
        self.frameTimesMs = frameTimesMs
        self.note = note
    }

    package enum CodingKeys: String, CodingKey {
        case kind, challenge, frames, note
        case frameTimesMs = "frame_times_ms"
    }

    package static let bonaFideKinds: Set<String> = ["live", "live_still"]
    package var isAttack: Bool { !Self.bonaFideKinds.contains(self.kind) }

    /// Every sequence under `root` (folders holding a sequence.json), sorted by name.
    package static func load(root: String) throws -> [(name: String, path: String, sequence: LivenessSequence)] {
        let names = try FileManager.default.contentsOfDirectory(atPath: root).sorted()
        return try names.compactMap { name in
            let path = (root as NSString).appendingPathComponent(name)
            let file = (path as NSString).appendingPathComponent("sequence.json")
            guard FileManager.default.fileExists(atPath: file) else { return nil }
            do {
                return (
                    name, path,
                    try JSONDecoder().decode(LivenessSequence.self, from: Data(contentsOf: URL(fileURLWithPath: file)))
                )
            } catch {
                throw ValidationError("\(file): not a sequence description (\(error))")
            }
        }
    }

    /// The bursts of a manifest-described folder (its MANIFEST.tsv: sequence, frames, kind, ...)
    /// with our labels (`Fixtures/liveness-video/challenges.tsv`: sequence, performs, fps).
    /// Kinds: live_headturn performing a step is "live"; live_still, or a head movement that
    /// performs no step, "live_still"; print_attack "print"; screen_attack "screen".
    package static func load(
        manifest: String,
        labels: String
    ) throws -> [(name: String, path: String, sequence: LivenessSequence)] {
        let root = (manifest as NSString).deletingLastPathComponent
        var labelled: [String: (performs: [ChallengeStep]?, fps: Double)] = [:]
        for row in try Manifest(path: labels, key: "sequence").records {
            guard let name = row["sequence"], let performs = row["performs"], let fps = row["fps"].flatMap(Double.init),
                fps > 0
            else {
                throw ValidationError("\(labels): each row needs sequence, performs and fps")
            }
            if performs == "-" {
                labelled[name] = (nil, fps)
            } else {
                let steps = try performs.split(separator: ">").map { step in
                    guard let parsed = ChallengeStep(rawValue: String(step)) else {
                        throw ValidationError("\(labels): unknown step \(step)")
                    }
                    return parsed
                }
                labelled[name] = (steps, fps)
            }
        }
        return try Manifest(path: manifest, key: "sequence").records.map { row in
            guard let name = row["sequence"], let kind = row["kind"] else {
                throw ValidationError("\(manifest): a row without sequence or kind")
            }
            guard let label = labelled[name] else { throw ValidationError("\(labels) has no label for \(name)") }
            let path = (root as NSString).appendingPathComponent(name)
            let frames = try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(".jpg") }
                .sorted()
            let ours: String =
                switch kind {
                case "live_headturn": label.performs == nil ? "live_still" : "live"
                case "live_still": "live_still"
                case "print_attack": "print"
                case "screen_attack": "screen"
                default: throw ValidationError("\(manifest): unknown kind \(kind)")
                }
            var sequence = LivenessSequence(
                kind: ours,
                challenge: label.performs ?? [],
                frames: frames,
                frameTimesMs: frames.indices.map { Int((Double($0) * 1000 / label.fps).rounded()) },
                note: row["motion_observed"]
            )
            sequence.tryEveryChallenge = label.performs == nil
            sequence.fromManifest = true
            if let note = row["motion_observed"], note.hasPrefix("P") {
                let id = note.prefix { $0.isLetter || $0.isNumber }
                if id.count > 1 && id.dropFirst().allSatisfy(\.isNumber) { sequence.person = String(id) }
            }
            return (name, path, sequence)
        }
    }

    /// The frames' bytes, in zeroizing buffers.
    package func readFrames(at path: String, maxBytes: Int) throws -> [ZeroizingBuffer] {
        try self.frames.map {
            try ZeroizingBuffer(contentsOfFile: (path as NSString).appendingPathComponent($0), maxBytes: maxBytes)
        }
    }
}
