import Foundation
import SimverifyCore
import Testing

@Suite struct MatchPolicyTests {
    /// Two unit embeddings `distance` apart.
    static func pair(_ distance: Double) throws -> (FaceEmbedding, FaceEmbedding) {
        let angle = 2 * asin(distance / 2)
        var a = [Float](repeating: 0, count: 128)
        var b = a
        a[0] = 1
        b[0] = Float(cos(angle))
        b[1] = Float(sin(angle))
        return (try FaceEmbedding(a, model: .dlib), try FaceEmbedding(b, model: .dlib))
    }

    static func decide(_ distance: Double, policy: MatchPolicy = .dlib) throws -> VerificationOutcome {
        let (a, b) = try Self.pair(distance)
        return policy.decide(
            selfie: FaceSample(faceCount: 1, largestFaceWidth: 200, embedding: a),
            idCard: FaceSample(faceCount: 1, largestFaceWidth: 200, embedding: b)
        )
    }

    @Test func theReviewBandSitsAroundTheThreshold() throws {
        #expect(try Self.decide(0.40).decision == .approved)
        #expect(try Self.decide(0.569).decision == .approved)
        #expect(try Self.decide(0.575).decision == .manualReview)
        #expect(try Self.decide(0.60).reasons == [.nearThreshold])
        #expect(try Self.decide(0.625).decision == .manualReview)
        #expect(try Self.decide(0.632).decision == .rejected)
        var noBand = MatchPolicy.dlib
        noBand.reviewBand = 0
        #expect(try Self.decide(0.59, policy: noBand).decision == .approved)
        #expect(try Self.decide(0.61, policy: noBand).decision == .rejected)
    }

    @Test func captureProblemsOnBothSidesAreAllReported() throws {
        let outcome = MatchPolicy.standard.decide(
            selfie: FaceSample(faceCount: 0, largestFaceWidth: 0, embedding: nil),
            idCard: FaceSample(faceCount: 2, largestFaceWidth: 90, embedding: nil)
        )
        #expect(
            outcome.decision == .retry && outcome.reasons == [.noFaceInSelfie, .severalFacesOnIDCard]
                && outcome.distance == nil
        )
    }

    @Test func aSelfieCoveredBelowTheNoseIsRetry() throws {
        let (a, b) = try Self.pair(0.2)
        let card = FaceSample(faceCount: 1, largestFaceWidth: 200, embedding: b)
        func selfie(_ skin: Double?) -> FaceSample {
            FaceSample(faceCount: 1, largestFaceWidth: 200, embedding: a, lowerFaceSkin: skin)
        }
        let policy = MatchPolicy.standard
        #expect(policy.liveness.minimumLowerFaceSkin == 0.1)
        #expect(policy.decide(selfie: selfie(0.05), idCard: card).reasons == [.selfieFaceCovered])
        #expect(policy.decide(selfie: selfie(0.05), idCard: card).decision == .retry)
        // At the minimum, and not measured (a grey image): judged as usual.
        #expect(policy.decide(selfie: selfie(0.1), idCard: card).reasons == [.facesMatch])
        #expect(policy.decide(selfie: selfie(nil), idCard: card).reasons == [.facesMatch])
    }

    @Test func aGhostPortraitIsNotAnotherFaceButASecondPortraitIs() throws {
        let (a, b) = try Self.pair(0.2)
        let selfie = FaceSample(faceCount: 1, largestFaceWidth: 200, embedding: a)
        func card(_ widths: [Int]) -> FaceSample {
            FaceSample(
                faceCount: widths.count,
                largestFaceWidth: widths.max() ?? 0,
                embedding: widths.isEmpty ? nil : b,
                faceWidths: widths
            )
        }
        let policy = MatchPolicy.standard
        #expect(policy.idCardGhostShare == 0.6)
        // A portrait of 120 px with a ghost of 42 px (0.35 of it): one face counted.
        #expect(policy.countedFaces(idCard: card([120, 42])) == 1)
        #expect(policy.decide(selfie: selfie, idCard: card([120, 42])).reasons == [.facesMatch])
        // Just under and at the share.
        #expect(policy.countedFaces(idCard: card([100, 59])) == 1)
        #expect(policy.countedFaces(idCard: card([100, 60])) == 2)
        // Two portraits of like size: still refused, whatever their order.
        #expect(policy.decide(selfie: selfie, idCard: card([80, 120, 42])).reasons == [.severalFacesOnIDCard])
        // Share 0 counts every face; a sample without widths is counted by its count.
        var strict = policy
        strict.idCardGhostShare = 0
        #expect(strict.decide(selfie: selfie, idCard: card([120, 42])).reasons == [.severalFacesOnIDCard])
        #expect(policy.countedFaces(idCard: FaceSample(faceCount: 2, largestFaceWidth: 120, embedding: b)) == 2)
        // The ghost rule is for ID cards only: a small second face in a selfie is another person.
        #expect(
            policy.captureProblems(
                selfie: FaceSample(faceCount: 2, largestFaceWidth: 120, embedding: a, faceWidths: [120, 42])
            ) == [.severalFacesInSelfie]
        )
    }

    @Test func thePolicyRoundTripsThroughJSON() throws {
        let data = try JSONEncoder().encode(MatchPolicy.standard)
        #expect(try JSONDecoder().decode(MatchPolicy.self, from: data) == .standard)
    }
}

@Suite struct IDCardCaptureTests {
    /// Six cards counted by hand under the shipped policy (ghost share 0.6):
    /// [130] one face; [130, 45] a ghost (0.35) left out; [120, 40] likewise; [100, 90] two
    /// portraits: SEVERAL_FACES_ON_ID_CARD; [] no face: NO_FACE_ON_ID_CARD; [30] too small (< 40):
    /// ID_CARD_FACE_TOO_SMALL. Portrait widths 30, 100, 120, 130, 130: the median is 120.
    @Test func aHandCountedSetOfCards() {
        let capture = IDCardCapture(cards: [[130], [130, 45], [120, 40], [100, 90], [], [30]], policy: .standard)
        #expect(capture.cards == 6)
        #expect(capture.facesFound == ["0": 1, "1": 2, "2": 3])
        #expect(capture.ghostsLeftOut == 2)
        #expect(
            capture.refused == ["SEVERAL_FACES_ON_ID_CARD": 1, "NO_FACE_ON_ID_CARD": 1, "ID_CARD_FACE_TOO_SMALL": 1]
        )
        #expect(capture.medianPortraitWidth == 120)
        #expect(
            capture.text.hasPrefix(
                "id cards: 6 (faces found: 1 with 0, 2 with 1, 3 with 2); portrait width median 120 px; ghost portraits left out (narrower than 0.60 of the portrait): 2;"
            )
        )
    }

    @Test func thresholdsPrintAsExactlyAsTheyAre() {
        #expect(MatchPolicy.text(threshold: 0.6) == "0.60")
        #expect(MatchPolicy.text(threshold: 0.597) == "0.597")
        #expect(MatchPolicy.text(threshold: 0.6055) == "0.6055")
        #expect(MatchPolicy.text(threshold: 1) == "1.00")
    }
}

@Suite struct BurstFusionStudyTests {
    /// Unit vectors at the given angles (radians) in one plane: cosine distance 1 - cos(a - b).
    static func at(_ angle: Double) throws -> FaceEmbedding {
        var v = [Float](repeating: 0, count: 128)
        v[0] = Float(cos(angle))
        v[1] = Float(sin(angle))
        return try FaceEmbedding(v, model: .sface)
    }

    /// Two bursts of P1 (best frames at 0 and 0.2 rad), one of P2 (best frame at 1.6 rad), each
    /// burst's next frame 0.1 rad further from its best. Hand-computed:
    /// genuine A->B: best frame 1 - cos(0.2) = 0.01993; mean of 2 (directions 0.2 and 0.3, i.e. 0.25) 1 - cos(0.25) = 0.03109.
    /// genuine B->A: best 1 - cos(0.2); mean of A's 0 and 0.1 (0.05): 1 - cos(0.15) = 0.01123.
    /// impostors: 4 comparisons with P2, all above 0.597 (1 - cos(1.4) = 0.830 at the nearest).
    @Test func aHandComputedSetOfBursts() throws {
        let bursts = [
            BurstFusionStudy.Burst(name: "a", person: "P1", frontal: [try Self.at(0), try Self.at(0.1)]),
            BurstFusionStudy.Burst(name: "b", person: "P1", frontal: [try Self.at(0.2), try Self.at(0.3)]),
            BurstFusionStudy.Burst(name: "c", person: "P2", frontal: [try Self.at(1.6), try Self.at(1.7)]),
        ]
        let study = BurstFusionStudy(bursts: bursts, frames: 2)
        #expect(study.bursts == 3 && study.people == 2)
        #expect(study.single.count == 6 && study.single.filter(\.genuine).count == 2)
        let singleGenuine = study.single.filter(\.genuine).map(\.distance)
        let fusedGenuine = study.fused.filter(\.genuine).map(\.distance).sorted()
        for d in singleGenuine { #expect(abs(d - (1 - cos(0.2))) < 1e-5) }
        #expect(abs(fusedGenuine[0] - (1 - cos(0.15))) < 1e-5)
        #expect(abs(fusedGenuine[1] - (1 - cos(0.25))) < 1e-5)
        #expect(study.single.filter { !$0.genuine }.allSatisfy { $0.distance > 0.8 })
        let text = study.text(policyThreshold: 0.597)
        #expect(text.contains("3 bona fide bursts of 2 people") && text.contains("(2 genuine, 4 impostor comparisons)"))
        #expect(text.contains("FMR 0.0000 (0/4), FNMR 0.0000 (0/2)"))
        // A burst shorter than the frames asked for is left out.
        #expect(BurstFusionStudy(bursts: bursts, frames: 3).bursts == 0)
    }
}
