import Foundation
import SimverifyAudit
import SimverifyClient
import SimverifyCore
import SimverifyServer
import Testing

/// CheckFrame over real mutual TLS with the real engine: what the capture gates would say of one
/// preview frame (the counter page's hints), with nothing recorded.
@Suite("CheckFrame", .serialized)
struct CheckFrameTests {
    static let frame = Paths.shared + "/fixtures/liveness/aws_office_pose/001.jpg"
    /// Not the call's default 5 s (a page's hint): the whole suite loads the shared engine.
    static let deadline: Duration = .seconds(60)

    @Test func theGatesVerdictOnRealFramesWithNothingRecorded() async throws {
        let server = try await TestServer()
        let counter = try await server.client()
        let before = await server.audit.size

        let good = try await counter.checkFrame(try TestJPEG.bytes(Self.frame), deadline: Self.deadline)
        #expect(good.problem == nil, "\(good)")
        #expect(
            good.faceWidth >= good.minimumFaceWidth
                && good.minimumFaceWidth == MatchPolicy.standard.minimumSelfieFaceWidth
        )

        // The same man a quarter the size, in a frame as large: a customer standing back.
        let far = try await counter.checkFrame(try TestJPEG.variant(Self.frame, shrunkBy: 4), deadline: Self.deadline)
        #expect(far.problem == .selfieFaceTooSmall, "\(far)")
        #expect(far.faceWidth > 0 && far.faceWidth < far.minimumFaceWidth)
        #expect(
            abs(Double(far.faceWidth) * 4 - Double(good.faceWidth)) < Double(good.faceWidth) * 0.2,
            "\(far) \(good)"
        )

        let dark = try await counter.checkFrame(try TestJPEG.variant(Self.frame, light: 0.12), deadline: Self.deadline)
        #expect(dark.problem == .selfiePoorlyExposed, "\(dark)")

        let empty = try await counter.checkFrame(try TestJPEG.blank(width: 640, height: 480), deadline: Self.deadline)
        #expect(empty.problem == .noFaceInSelfie && empty.faceWidth == 0, "\(empty)")

        let two = try await counter.checkFrame(try TestJPEG.twoFaces(), deadline: Self.deadline)
        #expect(two.problem == .severalFacesInSelfie, "\(two)")

        // A check is no decision: the audit log has not grown.
        #expect(await server.audit.size == before)
        await counter.close()
        await server.stop()
    }

    @Test func badFramesAndOtherRolesAreRefusedWithTypedErrors() async throws {
        let server = try await TestServer()
        let counter = try await server.client()
        let text = Array("not a jpeg at all".utf8).withUnsafeBytes { ZeroizingBuffer(copying: $0) }
        do {
            _ = try await counter.checkFrame(text, deadline: Self.deadline)
            Issue.record("a frame that is no JPEG was checked")
        } catch {
            #expect(error.code == .invalidArgument && error.reason.rawValue == "frame.not_jpeg", "\(error)")
            #expect(!error.message.contains("not a jpeg at all"))
        }
        let empty = ZeroizingBuffer(count: 0)
        do {
            _ = try await counter.checkFrame(empty, deadline: Self.deadline)
            Issue.record("an empty frame was checked")
        } catch {
            #expect(error.code == .invalidArgument && error.reason.rawValue == "selfie_missing", "\(error)")
        }
        let regulator = try await server.client("regulator")
        let frame = try TestJPEG.bytes(Self.frame)
        do {
            _ = try await regulator.checkFrame(frame, deadline: Self.deadline)
            Issue.record("a regulator called CheckFrame")
        } catch {
            #expect(error.code == .permissionDenied, "\(error)")
        }
        // The connection still serves after the refusals.
        #expect(try await counter.checkFrame(frame, deadline: Self.deadline).problem == nil)
        await regulator.close()
        await counter.close()
        await server.stop()
    }

    @Test func previewChecksHaveTheirOwnRateLimitAndLeaveVerifysAlone() async throws {
        // One token a million seconds: the third check is over the limit by construction.
        let server = try await TestServer {
            $0.limits.previewCallsPerSecond = 1e-6
            $0.limits.previewBurst = 2
            $0.limits.terminalCallsPerSecond = 1e-6
            $0.limits.terminalBurst = 1
        }
        let counter = try await server.client()
        let frame = try TestJPEG.bytes(Self.frame)
        _ = try await counter.checkFrame(frame, deadline: Self.deadline)
        _ = try await counter.checkFrame(frame, deadline: Self.deadline)
        do {
            _ = try await counter.checkFrame(frame, deadline: Self.deadline)
            Issue.record("a third check within the burst window was served")
        } catch {
            #expect(error.code == .resourceExhausted && error.reason.rawValue == "rate_limited", "\(error)")
        }
        // The terminal's one Verify token is still there.
        let photo = try TestJPEG.bytes(Paths.face("london_001__neutral.jpg"))
        let verify = try await counter.verify(
            VerificationRequest(idCardImage: photo, selfieFrames: [photo], consentGiven: true)
        )
        #expect(verify.decision == .approved)
        let records = try await server.audit.entries(from: 0, to: await server.audit.size).map {
            try AuditRecord(encoded: $0)
        }
        #expect(records.contains { $0.event == .limitExceeded && $0.detail == "rate:preview:CheckFrame" })
        await counter.close()
        await server.stop()
    }
}
