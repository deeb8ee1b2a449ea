import Foundation
import SimverifyCore
import SimverifyFaceEngine
import SimverifyLiveness
import Synchronization
import Testing

/// The engine's burst analysis and the liveness checks on real frames: the generated bursts of
/// scripts/make-liveness-sequences.sh (scripts/test.sh writes them first) and the fixture bursts.
@Suite("Liveness on real frames")
struct SessionAnalysisTests {
    static let sequences: String =
        ProcessInfo.processInfo.environment["SIMVERIFY_LIVENESS_SEQUENCES"].flatMap { $0.isEmpty ? nil : $0 }
        ?? FileManager.default.homeDirectoryForCurrentUser.path + "/.cache/simverify/liveness-sequences"

    struct Sequence: Decodable {
        var challenge: [ChallengeStep]
        var frames: [String]
    }

    static func load(_ name: String) throws -> (Sequence, [ZeroizingBuffer]) {
        let folder = sequences + "/" + name
        let sequence = try JSONDecoder().decode(
            Sequence.self,
            from: Data(contentsOf: URL(fileURLWithPath: folder + "/sequence.json"))
        )
        return (sequence, try sequence.frames.map { try TestImages.bytes(folder + "/" + $0) })
    }

    static let checker = LivenessChecker(
        policy: .standard,
        minimumFaceWidth: MatchPolicy.standard.minimumSelfieFaceWidth
    )

    static func check(_ frames: [ZeroizingBuffer], challenge: [ChallengeStep]) async throws -> LivenessReport {
        let analysis = try await SharedEngine.get(.sface).analyze(session: frames, reference: nil)
        let observations = try analysis.frames.map { try $0.get() }
        return Self.checker.check(frames: observations, challenge: challenge, frameTimes: [])
    }

    /// The second phase embeds only the frames chosen from the first phase's observations, and
    /// their embeddings are the ones a whole embedding of the burst gives (the chip aligned in the
    /// first phase is the one the network would have seen); the frames' measures do not change.
    @Test func onlyTheChosenFramesAreEmbeddedAndAsTheyWouldBeAtOnce() async throws {
        let (sequence, frames) = try Self.load("live_turn_right_move_closer")
        let engine = try SharedEngine.get(.sface)
        let all = try await engine.analyze(session: frames, reference: nil).frames.map { try $0.get() }
        let chosen = Self.checker.framesToEmbed(all, challenge: sequence.challenge)
        #expect(chosen.count >= 2 && chosen.count < frames.count, "\(chosen)")
        let seen = Mutex<[FrameObservation]>([])
        let twoPhase = try await engine.analyze(
            session: frames,
            reference: nil,
            embeddingFrames: { observations in
                seen.withLock { $0 = observations }
                return Self.checker.framesToEmbed(observations, challenge: sequence.challenge)
            }
        ).frames.map { try $0.get() }
        // The chooser saw every frame measured and none embedded.
        #expect(seen.withLock { $0.count } == frames.count)
        #expect(seen.withLock { $0.allSatisfy { $0.face != nil && $0.face?.embedding == nil } })
        for index in frames.indices {
            let a = try #require(all[index].face)
            let b = try #require(twoPhase[index].face)
            #expect(a.landmarks == b.landmarks && a.sharpness == b.sharpness && a.brightness == b.brightness)
            #expect(a.lowerFaceSkin == b.lowerFaceSkin)
            if chosen.contains(index) {
                let distance = try #require(a.embedding).distance(to: try #require(b.embedding))
                #expect(distance < 1e-6, "frame \(index): \(distance)")
            } else {
                #expect(b.embedding == nil, "frame \(index) was embedded")
            }
        }
        // Judged as the service judges, the burst passes as it does with every frame embedded.
        let whole = Self.checker.check(frames: all, challenge: sequence.challenge, frameTimes: [])
        let partial = Self.checker.check(frames: twoPhase, challenge: sequence.challenge, frameTimes: [])
        #expect(whole.passed && partial.passed, "\(whole.failures) \(partial.failures)")
    }

    @Test func trackingFindsTheSameFaceAsAWholeFrameSearch() async throws {
        let (_, frames) = try Self.load("live_turn_right_move_closer")
        let engine = try SharedEngine.get(.sface)
        let tracked = try await engine.analyze(session: frames, reference: nil).frames.map { try $0.get() }
        for (index, frame) in frames.enumerated() {
            let whole = try await engine.analyze(jpeg: frame, kind: .selfie, embeddings: .largestFace)
            let face = try #require(whole.largestFace)
            let observed = try #require(tracked[index].face)
            #expect(tracked[index].faceCount == 1)
            // A region search feeds YuNet another input size, so the five points may move by a few
            // percent of the face and the embedding with them; a face cut by the region's edge
            // must not pass (it fell back to a whole-frame search with dlib at 0.41).
            let tolerance = 0.05 * Double(face.box.width)
            for (a, b) in zip(face.landmarks, observed.landmarks) {
                #expect(
                    abs(Double(a.x) - b.x) <= tolerance && abs(Double(a.y) - b.y) <= tolerance,
                    "frame \(index): \(a) vs \(b)"
                )
            }
            let distance = try #require(face.embedding).distance(to: try #require(observed.embedding))
            #expect(distance < 0.3, "frame \(index): \(distance)")
        }
    }

    @Test func aLiveBurstPerformingItsChallengePasses() async throws {
        for name in [
            "live_turn_right_move_closer", "live_move_closer_turn_right", "live_mirrored_turn_left_move_closer",
        ] {
            let (sequence, frames) = try Self.load(name)
            let report = try await Self.check(frames, challenge: sequence.challenge)
            #expect(report.passed, "\(name): \(report.captureProblems + report.failures)")
            #expect((report.nonPlanarity ?? 0) >= LivenessPolicy.standard.minimumNonPlanarity)
            let best = try #require(report.bestFrame.flatMap { report.poses[$0] })
            #expect(abs(best.yaw) <= LivenessPolicy.standard.maximumStartYaw)
        }
    }

    /// The default challenge is three steps: each order of the three steps SFace reads is
    /// performed by a generated burst that passes it and none of the other five; and a recording of
    /// a two-step performance, replayed, answers none of the six.
    @Test func threeStepChallengesAreAnsweredOnlyByTheirOwnPerformance() async throws {
        #expect(LivenessPolicy.standard.challengeSteps == 3)
        let orders = LivenessPolicy.standard.drawableChallenges
        #expect(orders.count == 6)
        func observe(_ frames: [ZeroizingBuffer]) async throws -> [FrameObservation] {
            try await SharedEngine.get(.sface).analyze(session: frames, reference: nil).frames.map { try $0.get() }
        }
        for order in orders {
            let name = "live3_" + order.map { $0.rawValue.lowercased() }.joined(separator: "_")
            let (sequence, frames) = try Self.load(name)
            #expect(sequence.challenge == order && frames.count == 5)
            let observations = try await observe(frames)
            for challenge in orders {
                let report = Self.checker.check(frames: observations, challenge: challenge, frameTimes: [])
                #expect(
                    report.passed == (challenge == order),
                    "\(name) against \(challenge): \(report.captureProblems + report.failures)"
                )
            }
        }
        for name in [
            "live_turn_right_move_closer", "live_move_closer_turn_right", "live_mirrored_turn_left_move_closer",
        ] {
            let (sequence, frames) = try Self.load(name)
            let observations = try await observe(frames)
            #expect(Self.checker.check(frames: observations, challenge: sequence.challenge, frameTimes: []).passed)
            for challenge in orders {
                let report = Self.checker.check(frames: observations, challenge: challenge, frameTimes: [])
                #expect(
                    !report.passed
                        && !Set(report.failures).isDisjoint(with: [.challengeNotPerformed, .challengeOutOfOrder]),
                    "\(name) against \(challenge): \(report.failures)"
                )
            }
        }
    }

    @Test func aPrintMovedAboutHasNoParallax() async throws {
        for name in ["print_00_biden__2010_blue_room", "print_03_codait_luciano__1"] {
            let (sequence, frames) = try Self.load(name)
            let report = try await Self.check(frames, challenge: sequence.challenge)
            #expect(report.failures.contains(.noParallax), "\(name): \(report.failures)")
            #expect((report.nonPlanarity ?? 0) < LivenessPolicy.standard.minimumNonPlanarity)
        }
    }

    @Test func aLiveBurstPlayedBackOnAScreenShowsItsPixelGrid() async throws {
        // The displayed head performs the challenge, with the recorded head's own parallax: only
        // the screen cue can tell. Its live original stays far under the gate.
        for name in ["live_turn_right_move_closer", "live_mirrored_turn_left_move_closer"] {
            let (sequence, frames) = try Self.load(name)
            let live = try await Self.check(frames, challenge: sequence.challenge)
            #expect(
                (live.screenPattern ?? .infinity) < LivenessPolicy.standard.maximumScreenPattern - 1,
                "\(name): \(live.screenPattern ?? -1)"
            )
            #expect(!live.failures.contains(.screenPattern))
            let (_, shown) = try Self.load(name.replacingOccurrences(of: "live_", with: "screen_replay_"))
            let replay = try await Self.check(shown, challenge: sequence.challenge)
            #expect(replay.failures.contains(.screenPattern), "\(name) on a screen: \(replay.screenPattern ?? -1)")
            #expect(replay.captureProblems.isEmpty && !replay.passed)
            // With the screen cue off, nothing else names it as an attack here but luck.
            var off = LivenessPolicy.standard
            off.maximumScreenPattern = 0
            let observations = try await SharedEngine.get(.sface).analyze(session: shown, reference: nil).frames.map {
                try $0.get()
            }
            let unchecked = LivenessChecker(policy: off, minimumFaceWidth: MatchPolicy.standard.minimumSelfieFaceWidth)
                .check(frames: observations, challenge: sequence.challenge, frameTimes: [])
            #expect(!unchecked.failures.contains(.screenPattern))
        }
    }

    @Test func theRightFramesInTheWrongOrderOrForAnotherChallengeFail() async throws {
        let (order, orderFrames) = try Self.load("order_turn_right_move_closer")
        let reversed = try await Self.check(orderFrames, challenge: order.challenge)
        #expect(reversed.failures == [.challengeOutOfOrder])
        let (_, liveFrames) = try Self.load("live_turn_right_move_closer")
        let replayed = try await Self.check(liveFrames, challenge: [.turnLeft, .moveCloser])
        #expect(replayed.failures == [.challengeNotPerformed])
    }

    @Test func repeatedFramesAndASwappedPersonFail() async throws {
        let (sequence, frames) = try Self.load("live_turn_right_move_closer")
        var repeated = frames
        repeated.append(frames[2])
        #expect(try await Self.check(repeated, challenge: sequence.challenge).failures.contains(.duplicateFrames))
        var swapped = frames
        swapped[4] = try Self.load("print_00_biden__2010_blue_room").1[0]
        let report = try await Self.check(swapped, challenge: sequence.challenge)
        #expect(
            report.failures.contains(.identityChanged)
                && (report.identitySpread ?? 0) > LivenessPolicy.standard.maximumIdentitySpread
        )
    }

    @Test func fixtureBurstsWithTwoFacesOrBlurAreCaptureProblems() async throws {
        func fixture(_ folder: String) throws -> [ZeroizingBuffer] {
            try FileManager.default.contentsOfDirectory(atPath: TestPaths.liveness + "/" + folder).filter {
                $0.hasSuffix(".jpg")
            }.sorted()
                .map { try TestImages.bytes(TestPaths.liveness + "/" + folder + "/" + $0) }
        }
        let two = try await Self.check(try fixture("intel_two_faces_still"), challenge: [.turnLeft, .turnRight])
        #expect(
            two.captureProblems.contains(.severalFacesInSelfie) || two.captureProblems.contains(.selfieFaceTooSmall)
        )
        let small = try await Self.check(try fixture("intel_male_still"), challenge: [.turnLeft, .turnRight])
        // Palette GIF frames, upscaled: the face is found but blurred (and GIF frames repeat).
        #expect(
            small.captureProblems.contains(.selfieBlurred)
                && small.captureProblems.allSatisfy { [ReasonCode.selfieBlurred, .duplicateFrames].contains($0) }
        )
    }
}
