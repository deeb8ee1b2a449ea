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

    @Test func thePolicyRoundTripsThroughJSON() throws {
        let data = try JSONEncoder().encode(MatchPolicy.standard)
        #expect(try JSONDecoder().decode(MatchPolicy.self, from: data) == .standard)
    }
}
