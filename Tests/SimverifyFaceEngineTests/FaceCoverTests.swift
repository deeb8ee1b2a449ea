import Foundation
import SimverifyCore
import SimverifyFaceEngine
import SimverifyLiveness
import Testing

/// The covered-face measure (`FaceQuality.lowerFaceSkin`) on every faces-ea portrait, bare and
/// with a mask drawn on (scripts/make-masked-faces.sh), and on real frames of a masked face.
@Suite("Covered faces", .serialized)
struct FaceCoverTests {
    static let masked: String =
        ProcessInfo.processInfo.environment["SIMVERIFY_MASKED_FACES"].flatMap { $0.isEmpty ? nil : $0 }
        ?? FileManager.default.homeDirectoryForCurrentUser.path + "/.cache/simverify/masked-faces"

    /// The measure of the largest face of each image (nil: no face, or not measurable).
    static func measure(_ paths: [String]) async throws -> [Double?] {
        let engine = try SharedEngine.get(.sface)
        var values: [Double?] = []
        for path in paths {
            let analysis = try await engine.analyze(jpeg: try TestImages.bytes(path), kind: .selfie)
            values.append(analysis.largestFace?.quality.lowerFaceSkin)
        }
        return values
    }

    static func summary(_ values: [Double?]) -> String {
        let v = values.compactMap { $0 }.sorted()
        guard !v.isEmpty else { return "none" }
        let q = { (p: Double) in v[min(v.count - 1, Int(p * Double(v.count)))] }
        return String(
            format: "n %d (nil %d) min %.2f p01 %.2f p05 %.2f p50 %.2f p95 %.2f max %.2f",
            v.count,
            values.count - v.count,
            v[0],
            q(0.01),
            q(0.05),
            q(0.5),
            q(0.95),
            v.last!
        )
    }

    /// Flagged (below the shipped policy's minimum) of measured, as "k of n".
    static func flagged(_ values: [Double?]) -> (Int, Int) {
        let measured = values.compactMap { $0 }
        return (measured.filter { $0 < LivenessPolicy.standard.minimumLowerFaceSkin }.count, measured.count)
    }

    /// Every faces-ea portrait bare and with a mask drawn on: the bare ones pass, the masked ones
    /// are covered, except beige masks near the skin's own colour (reported, not hidden).
    @Test func bareAndMaskedPortraitsAreToldApart() async throws {
        let manifest = Self.masked + "/MANIFEST.tsv"
        guard let text = try? String(contentsOfFile: manifest, encoding: .utf8) else {
            throw TestFailure("\(manifest) is missing: run scripts/make-masked-faces.sh (scripts/test.sh does)")
        }
        let rows = text.split(separator: "\n").dropFirst().map { $0.split(separator: "\t").map(String.init) }
        #expect(rows.count > 200)
        let bare = try await Self.measure(rows.map { TestPaths.shared + "/fixtures/faces-ea/" + $0[1] })
        let faces = try FileManager.default.contentsOfDirectory(atPath: TestPaths.faces).filter { $0.hasSuffix(".jpg") }
            .sorted()
        let bareFaces = try await Self.measure(faces.map { TestPaths.faces + "/" + $0 })
        print("covered faces: bare faces-ea \(Self.summary(bare)); bare faces \(Self.summary(bareFaces))")
        // Measured: 0 of 238 and 0 of 30 (lowest 0.15 and 0.41).
        let (bareFlagged, bareCount) = Self.flagged(bare + bareFaces)
        #expect(
            bareCount >= 260 && bareFlagged <= bareCount / 100,
            "\(bareFlagged) of \(bareCount) bare portraits called covered"
        )
        let covered = try await Self.measure(rows.map { Self.masked + "/" + $0[0] })
        var byColour: [String: [Double?]] = [:]
        for (row, value) in zip(rows, covered) { byColour[row[4], default: []].append(value) }
        for (colour, values) in byColour.sorted(by: { $0.key < $1.key }) {
            let (k, n) = Self.flagged(values)
            print("covered faces: \(colour) masks \(k) of \(n) covered; \(Self.summary(values))")
            // White, black, blue and grey: measured 100 %, 98 %, 100 %, 96 %.
            if colour != "beige" { #expect(n >= 40 && k * 100 >= n * 90, "\(colour): \(k) of \(n)") }
        }
    }

    /// A real camera's frames of a man putting a surgical mask on (filmed off a laptop screen,
    /// so the colours are pale): the frames with the mask over nose and mouth are covered, the
    /// live people of the real-video fixture never are.
    @Test func aRealMaskIsCoveredAndRealLiveFacesAreNot() async throws {
        let video = TestPaths.shared + "/fixtures/liveness-video"
        let masked = try await Self.measure(
            (4...7).map { String(format: "%@/dlg_laptop_screen_mask/%03d.jpg", video, $0) }
        )
        let (k, n) = Self.flagged(masked)
        #expect(n == 4 && k == 4, "\(masked)")
        for burst in [
            "clm_webcam_approach", "clm_webcam_talk_still", "jes_selfie_still", "jomariya_selfie_down_up",
            "krzysiek_webcam_turn_up_down",
            "shenasa_turn_left_right", "shenasa_look_up_down", "nuaa_live_f04_still", "nuaa_live_m11_busy_background",
            "amplify_ios_move_closer",
        ] {
            let folder = video + "/" + burst
            let frames = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".jpg") }
                .sorted()
            let values = try await Self.measure(frames.map { folder + "/" + $0 })
            #expect(Self.flagged(values).0 == 0, "\(burst): \(values)")
        }
        // The liveness checks leave such frames out as covered: a burst of them is RETRY, saying so.
        let session = try await SharedEngine.get(.sface).analyze(
            session: try (3...8).map {
                try TestImages.bytes(String(format: "%@/dlg_laptop_screen_mask/%03d.jpg", video, $0))
            },
            reference: nil
        ).frames.map { try $0.get() }
        let report = LivenessChecker(policy: .standard, minimumFaceWidth: MatchPolicy.standard.minimumSelfieFaceWidth)
            .check(frames: session, challenge: [.turnLeft, .turnRight], frameTimes: [])
        #expect(report.captureProblems.first == .selfieFaceCovered, "\(report.captureProblems)")
    }

    /// One selfie (a Verify without a session): a masked portrait is RETRY with SELFIE_FACE_COVERED.
    @Test func aMaskedSelfieIsRetryWithItsOwnReason() async throws {
        let engine = try SharedEngine.get(.sface)
        let name = "ea_bogeom__2"
        let masked = try await engine.analyze(
            jpeg: try TestImages.bytes(Self.masked + "/masked/images_\(name)__black.jpg"),
            kind: .selfie
        )
        let bare = try await engine.analyze(
            jpeg: try TestImages.bytes(TestPaths.shared + "/fixtures/faces-ea/images/\(name).jpg"),
            kind: .idCard
        )
        func sample(_ a: FaceAnalysis) throws -> FaceSample {
            let face = try #require(a.largestFace)
            return FaceSample(
                faceCount: a.faces.count,
                largestFaceWidth: face.box.width,
                embedding: face.embedding,
                lowerFaceSkin: face.quality.lowerFaceSkin
            )
        }
        let outcome = MatchPolicy.standard.decide(selfie: try sample(masked), idCard: try sample(bare))
        #expect(outcome.decision == .retry && outcome.reasons == [.selfieFaceCovered])
        var off = MatchPolicy.standard
        off.liveness.minimumLowerFaceSkin = 0
        #expect(off.decide(selfie: try sample(masked), idCard: try sample(bare)).decision != .retry)
    }
}
