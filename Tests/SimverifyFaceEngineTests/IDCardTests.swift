import Foundation
import SimverifyCore
import SimverifyFaceEngine
import Testing

/// Generated ID cards (scripts/make-id-cards.py: a faces-ea portrait behind a guilloche, a
/// hologram-like laminate and glare, with a ghost portrait on half of them), scanned at 300 dpi.
@Suite("ID cards as they reach the counter", .serialized)
struct IDCardTests {
    /// The first `count` scanned cards with a ghost portrait, with the photo each was made from.
    static func ghostScans(_ count: Int) throws -> [(card: String, source: String)] {
        let manifest = TestPaths.idCards + "/MANIFEST.tsv"
        guard let text = try? String(contentsOfFile: manifest, encoding: .utf8) else {
            throw TestFailure("\(manifest) is missing: run scripts/make-id-cards.sh (scripts/test.sh does)")
        }
        let rows = text.split(separator: "\n").dropFirst().map { $0.split(separator: "\t").map(String.init) }
        let scans = rows.filter { $0.count >= 5 && $0[3] == "scan" && $0[4] == "yes" }.prefix(count)
        return scans.map { row in
            // cards/ea_bogeom__1__scan.jpg was made from faces-ea/images/ea_bogeom__1.jpg
            let stem = URL(fileURLWithPath: row[0]).deletingPathExtension().lastPathComponent.replacingOccurrences(
                of: "__scan",
                with: ""
            )
            return (TestPaths.idCards + "/" + row[0], TestPaths.shared + "/fixtures/faces-ea/images/\(stem).jpg")
        }
    }

    /// The ghost portrait is found as a second, much smaller face; the shipped policy leaves it out
    /// (without the rule these cards would be SEVERAL_FACES_ON_ID_CARD), and the portrait, the
    /// largest face, still matches the photo it was printed from.
    @Test func theGhostPortraitIsFoundButNotCountedAndThePortraitMatches() async throws {
        let engine = try SharedEngine.get(.sface)
        let policy = MatchPolicy.standard
        let cards = try Self.ghostScans(10)
        #expect(cards.count == 10)
        var withGhost = 0
        var matched = 0
        for (card, source) in cards {
            let analysis = try await engine.analyze(jpeg: try TestImages.bytes(card), kind: .idCard)
            let widths = analysis.faces.map(\.box.width)
            let largest = try #require(analysis.largestFace, "\(card): no face")
            let sample = FaceSample(
                faceCount: widths.count,
                largestFaceWidth: largest.box.width,
                embedding: largest.embedding,
                faceWidths: widths
            )
            if widths.count == 2 {
                withGhost += 1
                let ghost = Double(widths.min()!) / Double(largest.box.width)
                #expect(
                    ghost > 0.2 && ghost < policy.idCardGhostShare,
                    "\(card): the ghost is \(ghost) of the portrait"
                )
                var strict = policy
                strict.idCardGhostShare = 0
                #expect(strict.captureProblems(idCard: sample) == [.severalFacesOnIDCard])
            }
            #expect(
                policy.captureProblems(idCard: sample).isEmpty,
                "\(card): \(policy.captureProblems(idCard: sample))"
            )
            let photo = try await engine.analyze(jpeg: try TestImages.bytes(source), kind: .selfie)
            let distance = try #require(photo.largestFace?.embedding).distance(to: try #require(largest.embedding))
            if distance <= policy.threshold { matched += 1 }
        }
        // Measured: the detector finds 111 of the 123 ghosts; the scans' median shift is 0.25 and
        // 2.4 % of them are past the threshold from their own photo.
        #expect(withGhost >= 7, "ghosts found on \(withGhost) of 10 cards")
        #expect(matched >= 9, "\(matched) of 10 portraits matched their own photo")
    }
}
