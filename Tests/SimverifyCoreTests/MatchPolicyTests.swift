import Foundation
import SimverifyCore
import Testing

@Suite struct MatchPolicyTests {
    /// Two unit embeddings `distance` apart.
    static func pair(_ distance: Double) throws -> (FaceEmbedding, FaceEmbedding) {
        let angle = 2 * asin(distance / 2)
        var a = [Float](repeating: 0, count: 128), b = a
        a[0] = 1
        b[0] = Float(cos(angle))
        b[1] = Float(sin(angle))
        return (try FaceEmbedding(a, model: .dlib), try FaceEmbedding(b, model: .dlib))
    }

    static func decide(_ distance: Double, policy: MatchPolicy = .dlib) throws -> VerificationOutcome {
        let (a, b) = try Self.pair(distance)
        return policy.decide(
            selfie: FaceSample(faceCount: 1, largestFaceWidth: 200, embedding: a), idCard: FaceSample(faceCount: 1, largestFaceWidth: 200, embedding: b)
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
            selfie: FaceSample(faceCount: 0, largestFaceWidth: 0, embedding: nil), idCard: FaceSample(faceCount: 2, largestFaceWidth: 90, embedding: nil)
        )
        #expect(outcome.decision == .retry && outcome.reasons == [.noFaceInSelfie, .severalFacesOnIDCard] && outcome.distance == nil)
    }

    @Test func aGhostPortraitIsNotAnotherFaceButASecondPortraitIs() throws {
        let (a, b) = try Self.pair(0.2)
        let selfie = FaceSample(faceCount: 1, largestFaceWidth: 200, embedding: a)
        func card(_ widths: [Int]) -> FaceSample {
            FaceSample(faceCount: widths.count, largestFaceWidth: widths.max() ?? 0, embedding: widths.isEmpty ? nil : b, faceWidths: widths)
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
        #expect(policy.captureProblems(selfie: FaceSample(faceCount: 2, largestFaceWidth: 120, embedding: a, faceWidths: [120, 42])) == [.severalFacesInSelfie])
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
        #expect(capture.refused == ["SEVERAL_FACES_ON_ID_CARD": 1, "NO_FACE_ON_ID_CARD": 1, "ID_CARD_FACE_TOO_SMALL": 1])
        #expect(capture.medianPortraitWidth == 120)
        #expect(capture.text.hasPrefix("id cards: 6 (faces found: 1 with 0, 2 with 1, 3 with 2); portrait width median 120 px; ghost portraits left out (narrower than 0.60 of the portrait): 2;"))
    }

    @Test func thresholdsPrintAsExactlyAsTheyAre() {
        #expect(MatchPolicy.text(threshold: 0.6) == "0.60")
        #expect(MatchPolicy.text(threshold: 0.597) == "0.597")
        #expect(MatchPolicy.text(threshold: 0.6055) == "0.6055")
        #expect(MatchPolicy.text(threshold: 1) == "1.00")
    }
}
