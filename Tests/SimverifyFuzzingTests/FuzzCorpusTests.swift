import Foundation
import SimverifyAudit
import SimverifyFaceEngine
import SimverifyFuzzing
import Testing

/// Every input kept under Fixtures/fuzz (seeds, and each crash a fuzzer found, once fixed) runs
/// through its target on every test run, followed by deterministic mutations of each seed.
@Suite("Fuzz corpora")
struct FuzzCorpusTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/fuzz").path

    static func inputs(_ target: String) throws -> [(String, [UInt8])] {
        let folder = root + "/" + target
        return try FileManager.default.contentsOfDirectory(atPath: folder).sorted().map {
            ($0, Array(try Data(contentsOf: URL(fileURLWithPath: folder + "/" + $0))))
        }
    }

    /// A small deterministic generator (SplitMix64), so a failing mutation can be replayed.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            self.state &+= 0x9E37_79B9_7F4A_7C15
            var z = self.state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func mutate(_ input: [UInt8], _ rng: inout SplitMix) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...6, using: &rng) {
            switch Int.random(in: 0..<5, using: &rng) {
            case 0 where !bytes.isEmpty:
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] ^= UInt8(1 << Int.random(in: 0..<8, using: &rng))
            case 1 where !bytes.isEmpty:
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] =
                    [0x00, 0xFF, 0x7F, 0x80, 0xD8, 0xDA][Int.random(in: 0..<6, using: &rng)]
            case 2 where bytes.count > 1:
                bytes.removeSubrange(Int.random(in: 0..<bytes.count, using: &rng)..<bytes.count)
            case 3:
                bytes.insert(
                    contentsOf: (0..<Int.random(in: 1...16, using: &rng)).map { _ in
                        UInt8.random(in: 0...255, using: &rng)
                    },
                    at: Int.random(in: 0...bytes.count, using: &rng)
                )
            default:
                if bytes.count > 4 {
                    let start = Int.random(in: 0..<(bytes.count - 2), using: &rng)
                    let length = Int.random(in: 1...min(64, bytes.count - start), using: &rng)
                    bytes.insert(
                        contentsOf: bytes[start..<(start + length)],
                        at: Int.random(in: 0...bytes.count, using: &rng)
                    )
                }
            }
        }
        return bytes
    }

    @Test(arguments: FuzzTargets.all.keys.sorted())
    func everyKeptInputAndItsMutationsRunCleanly(target name: String) throws {
        let target = try #require(FuzzTargets.all[name])
        let inputs = try Self.inputs(name)
        #expect(!inputs.isEmpty, "Fixtures/fuzz/\(name) has seeds")
        var rng = SplitMix(state: 0x5EED_0000 &+ UInt64(name.utf8.reduce(0) { $0 &* 31 &+ UInt64($1) }))
        for (_, bytes) in inputs {
            bytes.withUnsafeBytes { target($0) }
            for _ in 0..<(name == "jpeg" ? 150 : 400) {
                Self.mutate(bytes, &rng).withUnsafeBytes { target($0) }
            }
        }
    }

    @Test func theSeedsMeanWhatTheDocumentsSay() throws {
        // Records written by scripts/fuzz-seeds.py from docs/AUDIT.md decode, and re-encode to the same bytes.
        for (name, bytes) in try Self.inputs("record") {
            let record = try AuditRecord(encoded: bytes)
            #expect(try record.encoded() == bytes, "\(name)")
        }
        let lookup = try AuditRecord(encoded: try Self.inputs("record").first { $0.0 == "seed-lookup.bin" }!.1)
        #expect(lookup.event == .regulatorLookup && lookup.detail == "matches=2" && lookup.distanceMilli == nil)
        // The seed checkpoint verifies with the seed vkey.
        let notes = Dictionary(uniqueKeysWithValues: try Self.inputs("note"))
        let verifier = try NoteVerifier(vkey: String(decoding: notes["seed-vkey.txt"]!, as: UTF8.self))
        #expect(try Checkpoint.open(notes["seed-checkpoint.note"]!, verifier: verifier).size == 42)
        // The seed JPEGs decode, EXIF orientation 6 turning 24x16 into 16x24.
        for (name, bytes) in try Self.inputs("jpeg") {
            let image = try bytes.withUnsafeBytes { try JPEGDecoder().decode($0) }
            #expect(
                name == "seed-exif6.jpg"
                    ? (image.width == 16 && image.height == 24) : (image.width == 24 && image.height == 16),
                "\(name)"
            )
        }
    }
}
