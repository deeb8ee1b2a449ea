import Foundation
import SimverifyCore
import Testing

@testable import SimverifyLiveness

/// Landmarks of a synthetic head: eyes 60 px apart around (cx, cy), nose `yaw`/`pitch` eye
/// distances off the eye midpoint, scaled by `scale`.
func landmarks(cx: Double = 200, cy: Double = 200, yaw: Double = 0, pitch: Double = 0.6, scale: Double = 1) -> [Point2]
{
    let d = 60 * scale
    return [
        Point2(x: cx + 0.5 * d + 12 * scale, y: cy), Point2(x: cx + 0.5 * d - 12 * scale, y: cy),
        Point2(x: cx - 0.5 * d - 12 * scale, y: cy), Point2(x: cx - 0.5 * d + 12 * scale, y: cy),
        Point2(x: cx + yaw * d, y: cy + pitch * d),
    ]
}

/// A random, non-periodic texture (like skin under light): random values every 5 px,
/// interpolated smoothly, plus finer detail every 2 px. Deterministic.
func texture(seed: UInt64, side: Int = 96) -> [Double] {
    var state = seed
    func random() -> Double {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Double(state >> 40) / Double(1 << 24)
    }
    func layer(_ step: Int, _ amplitude: Double) -> [Double] {
        let n = side / step + 3
        let grid = (0..<(n * n)).map { _ in random() * amplitude }
        return (0..<(side * side)).map { i in
            let x = Double(i % side) / Double(step)
            let y = Double(i / side) / Double(step)
            let x0 = Int(x)
            let y0 = Int(y)
            let fx = x - Double(x0)
            let fy = y - Double(y0)
            let sx = fx * fx * (3 - 2 * fx)
            let sy = fy * fy * (3 - 2 * fy)
            return grid[y0 * n + x0] * (1 - sx) * (1 - sy) + grid[y0 * n + x0 + 1] * sx * (1 - sy)
                + grid[(y0 + 1) * n + x0] * (1 - sx) * sy + grid[(y0 + 1) * n + x0 + 1] * sx * sy
        }
    }
    let coarse = layer(5, 150)
    let fine = layer(2, 60)
    return zip(coarse, fine).map { 40 + $0 + $1 }
}

/// Resamples `field` at `map(x, y)` (bilinear) into a grey image.
func warp(_ field: [Double], side: Int = 96, _ map: (Double, Double) -> (Double, Double)) -> GreyImage {
    func at(_ x: Int, _ y: Int) -> Double { field[min(max(y, 0), side - 1) * side + min(max(x, 0), side - 1)] }
    var out = [UInt8](repeating: 0, count: side * side)
    for y in 0..<side {
        for x in 0..<side {
            let (sx, sy) = map(Double(x), Double(y))
            let x0 = Int(floor(sx))
            let y0 = Int(floor(sy))
            let fx = sx - Double(x0)
            let fy = sy - Double(y0)
            let v =
                at(x0, y0) * (1 - fx) * (1 - fy) + at(x0 + 1, y0) * fx * (1 - fy) + at(x0, y0 + 1) * (1 - fx) * fy + at(
                    x0 + 1,
                    y0 + 1
                ) * fx * fy
            out[y * side + x] = UInt8(min(max(v.rounded(), 0), 255))
        }
    }
    return GreyImage(width: side, height: side, bytes: out)
}

@Suite struct HeadPoseTests {
    @Test func frontalFaceHasNoYawOrRoll() throws {
        let pose = try #require(HeadPose(landmarks: landmarks()))
        #expect(abs(pose.yaw) < 1e-9)
        #expect(abs(pose.pitch - 0.6) < 1e-9)
        #expect(abs(pose.roll) < 1e-9)
        #expect(abs(pose.eyeDistance - 60) < 1e-9)
    }

    @Test func poseIgnoresPositionScaleAndRoll() throws {
        let base = landmarks(yaw: 0.2, pitch: 0.5)
        let angle = 0.4
        let c = cos(angle)
        let s = sin(angle)
        let moved = base.map { Point2(x: 3 * (c * $0.x - s * $0.y) + 40, y: 3 * (s * $0.x + c * $0.y) - 17) }
        let a = try #require(HeadPose(landmarks: base))
        let b = try #require(HeadPose(landmarks: moved))
        #expect(abs(a.yaw - b.yaw) < 1e-9 && abs(a.pitch - b.pitch) < 1e-9)
        #expect(abs(b.roll - angle) < 1e-9)
        #expect(abs(b.eyeDistance - 3 * a.eyeDistance) < 1e-6)
    }

    @Test func refusesDegenerateLandmarks() {
        #expect(HeadPose(landmarks: Array(repeating: Point2(x: 1, y: 1), count: 5)) == nil)
        #expect(HeadPose(landmarks: Array(landmarks().prefix(4))) == nil)
    }
}

@Suite struct PlanarMotionTests {
    let base = texture(seed: 42)

    @Test func aTiltedPlaneIsExplainedByOneHomography() {
        let a = warp(self.base) { ($0, $1) }
        // A plane rotated and seen in perspective: a true homography with a visible projective part.
        let h = [0.93, 0.06, 4.0, -0.05, 0.97, 2.5, 0.0012, -0.0008, 1.0]
        let b = warp(self.base) { x, y in
            // b(x) = base(H⁻¹ x) is awkward; sampling base at H·x is the same kind of motion.
            let w = h[6] * x + h[7] * y + h[8]
            return ((h[0] * x + h[1] * y + h[2]) / w, (h[3] * x + h[4] * y + h[5]) / w)
        }
        let fit = PlanarMotion.fit(
            a,
            landmarksA: landmarks(cx: 48, cy: 40, scale: 0.5),
            b,
            landmarksB: landmarks(cx: 46, cy: 38, scale: 0.5),
            tolerance: 1.5
        )
        #expect(fit.tracked >= 30)
        #expect(fit.nonPlanarity < 0.1, "\(fit)")
    }

    @Test func aRoundSurfaceTurningIsNotPlanar() {
        let a = warp(self.base) { ($0, $1) }
        // A face turning about the vertical axis: each point moves sideways in proportion to how
        // far it stands out: a rounded front (6 px at its middle, 0 at the rim 40 px out) and a
        // nose (8 px more, within about 8 px of the middle).
        let b = warp(self.base) { x, y in
            let r2 = (x - 48) * (x - 48) + (y - 48) * (y - 48)
            return (x - 6 * (max(0, 1 - r2 / (40 * 40))).squareRoot() - 8 * exp(-r2 / (2 * 8 * 8)), y)
        }
        let fit = PlanarMotion.fit(
            a,
            landmarksA: landmarks(cx: 48, cy: 40, scale: 0.5),
            b,
            landmarksB: landmarks(cx: 56, cy: 40, scale: 0.5),
            tolerance: 1.5
        )
        #expect(fit.tracked >= 30)
        #expect(fit.nonPlanarity > LivenessPolicy.standard.minimumNonPlanarity, "\(fit)")
    }

    @Test func homographySolverRecoversAKnownMap() throws {
        let truth = Homography(h: [1.1, 0.1, 5, -0.05, 0.9, -3, 0.001, 0.002, 1])
        let points = [(0.0, 0.0), (90.0, 5.0), (10.0, 80.0), (70.0, 70.0), (40.0, 30.0)].map {
            Point2(x: $0.0, y: $0.1)
        }
        let pairs = points.map { ($0, truth.apply($0)!) }
        let fitted = try #require(Homography.fit(pairs))
        for (p, q) in pairs { #expect(fitted.error(p, q) < 1e-6) }
        // Four collinear points determine nothing.
        let line = (0..<4).map { Point2(x: Double($0) * 10, y: Double($0) * 5) }
        #expect(Homography.fit(line.map { ($0, $0) }) == nil)
    }
}

/// An observation of a synthetic frame: one face with the given landmarks and embedding.
func frame(
    _ points: [Point2],
    embedding: FaceEmbedding? = nil,
    id: UInt8,
    width: Int = 150,
    sharpness: Double = 100,
    brightness: Double = 120,
    faces: Int = 1
) -> FrameObservation {
    var thumb = [UInt8](repeating: 0, count: 32 * 24)
    for i in thumb.indices { thumb[i] = UInt8(truncatingIfNeeded: i &* Int(id) &* 37) }
    return FrameObservation(
        faceCount: faces,
        face: .init(
            width: width,
            landmarks: points,
            embedding: embedding ?? unit(0),
            sharpness: sharpness,
            brightness: brightness,
            crop: nil
        ),
        thumbnail: GreyImage(width: 32, height: 24, bytes: thumb),
        digest: [id]
    )
}

/// An embedding pointing along axis `axis`, rotated toward axis 1 by `angle`.
func unit(_ angle: Double, axis: Int = 0) -> FaceEmbedding {
    var values = [Float](repeating: 0, count: 128)
    values[axis] = Float(cos(angle))
    values[(axis + 1) % 128] = Float(sin(angle))
    return try! FaceEmbedding(values, model: .dlib)
}

@Suite struct LivenessCheckerTests {
    let checker = LivenessChecker(policy: .standard, minimumFaceWidth: 64)
    /// A head facing the camera, turning to its left, back, then looking up.
    var performing: [FrameObservation] {
        [
            frame(landmarks(), id: 1), frame(landmarks(yaw: 0.1), id: 2), frame(landmarks(yaw: 0.3), id: 3),
            frame(landmarks(yaw: 0.05, pitch: 0.55), id: 4), frame(landmarks(pitch: 0.35), id: 5),
        ]
    }

    @Test func theChallengeMustBePerformedInOrder() {
        let report = self.checker.check(frames: self.performing, challenge: [.turnLeft, .lookUp], frameTimes: [])
        #expect(report.captureProblems.isEmpty)
        #expect(report.stepFrames == [2, 4])
        // Without crops there is no parallax to measure: that alone fails.
        #expect(report.failures == [.noParallax])
        let reversed = self.checker.check(frames: self.performing, challenge: [.lookUp, .turnLeft], frameTimes: [])
        #expect(reversed.failures.contains(.challengeOutOfOrder))
        let missing = self.checker.check(frames: self.performing, challenge: [.turnLeft, .turnRight], frameTimes: [])
        #expect(missing.failures.contains(.challengeNotPerformed) && !missing.failures.contains(.challengeOutOfOrder))
        let closer = self.checker.check(
            frames: self.performing + [frame(landmarks(scale: 1.3), id: 6)],
            challenge: [.lookUp, .moveCloser],
            frameTimes: []
        )
        #expect(closer.stepFrames == [4, 5])
    }

    @Test func aPoseCountsOnlyForItsDominantMotion() {
        let start = HeadPose(landmarks: landmarks())!
        let turnedAndRaised = HeadPose(landmarks: landmarks(yaw: 0.2, pitch: 0.2))!
        #expect(self.checker.performs(.lookUp, turnedAndRaised, from: start))
        #expect(!self.checker.performs(.turnLeft, turnedAndRaised, from: start))
        #expect(self.checker.performs(.turnRight, HeadPose(landmarks: landmarks(yaw: -0.2))!, from: start))
        #expect(self.checker.performs(.lookDown, HeadPose(landmarks: landmarks(pitch: 0.8))!, from: start))
        #expect(!self.checker.performs(.moveCloser, HeadPose(landmarks: landmarks(yaw: 0.3, scale: 1.5))!, from: start))
    }

    @Test func badFramesAreLeftOutAndTheBurstIsJudgedOnTheRest() {
        // The performing burst with three bad frames among its own: 8 frames, 5 usable (62 %).
        var frames = self.performing
        var noFace = FrameObservation(faceCount: 0, face: nil, thumbnail: nil, digest: [20])
        noFace.thumbnail = nil
        var cut = frame(landmarks(yaw: 0.2), id: 22)
        cut.face?.cutByBorder = true
        frames.insert(noFace, at: 1)
        frames.insert(frame(landmarks(yaw: 0.2), id: 21, sharpness: 3), at: 3)
        frames.insert(cut, at: 5)
        let report = self.checker.check(frames: frames, challenge: [.turnLeft, .lookUp], frameTimes: [])
        #expect(report.captureProblems.isEmpty)
        #expect(report.missingFrames.map(\.frame) == [1, 3, 5])
        #expect(report.missingFrames.map(\.reason) == [.noFaceInSelfie, .selfieBlurred, .selfieFaceCut])
        #expect(report.judgedFrames == [0, 2, 4, 6, 7])
        // Step frames are the burst's own indices.
        #expect(report.stepFrames == [4, 7])
        #expect(report.failures == [.noParallax])
    }

    @Test func framesWithTheLowerFaceCoveredAreLeftOutAsCovered() {
        // One masked frame costs a frame; a masked burst is RETRY saying so; 0 turns the check off.
        var frames = self.performing
        var masked = frame(landmarks(yaw: 0.1), id: 31)
        masked.face?.lowerFaceSkin = 0.02
        frames.insert(masked, at: 1)
        frames[0].face?.lowerFaceSkin = 0.6
        let report = self.checker.check(frames: frames, challenge: [.turnLeft, .lookUp], frameTimes: [])
        #expect(report.missingFrames.map(\.frame) == [1] && report.missingFrames.map(\.reason) == [.selfieFaceCovered])
        #expect(report.captureProblems.isEmpty)
        var allMasked = self.performing
        for i in allMasked.indices { allMasked[i].face?.lowerFaceSkin = 0.05 }
        #expect(
            self.checker.check(frames: allMasked, challenge: [.turnLeft, .lookUp], frameTimes: []).captureProblems == [
                .selfieFaceCovered
            ]
        )
        var off = self.checker
        off.policy.minimumLowerFaceSkin = 0
        #expect(off.check(frames: allMasked, challenge: [.turnLeft, .lookUp], frameTimes: []).captureProblems.isEmpty)
    }

    @Test func aScreenPatternOnMostFacesFailsTheBurstEvenWhenFewFramesAreUsable() {
        // The median over the frames with one large enough face decides: one frame with a peak
        // (a striped shirt, a JPEG artefact) does not.
        var frames = self.performing
        for i in frames.indices { frames[i].face?.screenPattern = 3.5 }
        frames[2].face?.screenPattern = 9
        var report = self.checker.check(frames: frames, challenge: [.turnLeft, .lookUp], frameTimes: [])
        #expect(report.screenPattern == 3.5 && !report.failures.contains(.screenPattern))
        for i in frames.indices { frames[i].face?.screenPattern = 7.2 }
        report = self.checker.check(frames: frames, challenge: [.turnLeft, .lookUp], frameTimes: [])
        #expect(report.screenPattern == 7.2 && report.failures.contains(.screenPattern))
        // A screen's moire also makes frames unusable (here blurred): the attack is still named,
        // not sent back as RETRY.
        for i in frames.indices.dropFirst() { frames[i].face?.sharpness = 3 }
        report = self.checker.check(frames: frames, challenge: [.turnLeft, .lookUp], frameTimes: [])
        #expect(report.failures == [.screenPattern] && report.captureProblems.isEmpty)
        // Fewer than three faces measured: no figure, no failure; 0 turns the check off.
        var two = Array(self.performing.prefix(2))
        for i in two.indices { two[i].face?.screenPattern = 9 }
        #expect(self.checker.screenPattern(two) == nil)
        var off = self.checker
        off.policy.maximumScreenPattern = 0
        #expect(
            !off.check(frames: frames, challenge: [.turnLeft, .lookUp], frameTimes: []).failures.contains(
                .screenPattern
            )
        )
    }

    @Test func tooFewUsableFramesIsRetryNamingWhatRemovedThem() {
        var frames = self.performing
        frames.append(frame(landmarks(), id: 6, sharpness: 3))
        frames.append(frame(landmarks(), id: 7, sharpness: 3))
        frames.append(frame(landmarks(), id: 8, brightness: 250))
        frames[1] = frame(landmarks(yaw: 0.1), id: 2, sharpness: 5)
        // 8 frames, 4 usable: fewer than 5, and under 60 %.
        let report = self.checker.check(frames: frames, challenge: [.turnLeft, .lookUp], frameTimes: [])
        #expect(report.captureProblems == [.selfieBlurred, .selfiePoorlyExposed])
        // A frame both dark and soft is named for its light (darkness lowers the contrast that
        // sharpness measures): CheckFrame's "more light" hint, not "hold still".
        #expect(
            self.checker.captureProblem(frame(landmarks(), id: 11, sharpness: 3, brightness: 20))
                == .selfiePoorlyExposed
        )
        #expect(self.checker.captureProblem(frame(landmarks(), id: 12, sharpness: 3)) == .selfieBlurred)
        #expect(self.checker.captureProblem(frame(landmarks(), id: 13)) == nil)
        #expect(report.failures.isEmpty && !report.passed)
        // 12 frames of which 7 usable: at least 5, but under 60 %.
        var long = self.performing + [frame(landmarks(pitch: 0.4), id: 9), frame(landmarks(pitch: 0.45), id: 10)]
        for id in 11...15 { long.append(frame(landmarks(), id: UInt8(id), width: 40)) }
        #expect(
            self.checker.check(frames: long, challenge: [.turnLeft, .lookUp], frameTimes: []).captureProblems == [
                .selfieFaceTooSmall
            ]
        )
    }

    @Test func anotherPersonCostsAFrameAndAFaceInTheBackgroundNothing() {
        var frames = self.performing
        frames[1] = FrameObservation(
            faceCount: 2,
            face: frames[1].face,
            thumbnail: frames[1].thumbnail,
            digest: frames[1].digest,
            secondFaceWidth: 90
        )
        // Five frames: one left out leaves too few.
        let crowded = self.checker.check(frames: frames, challenge: [.turnLeft, .lookUp], frameTimes: [])
        #expect(crowded.captureProblems == [.severalFacesInSelfie])
        // Seven frames: someone passing in one of them costs that frame only.
        let longer = self.checker.check(
            frames: frames + [frame(landmarks(pitch: 0.4), id: 6), frame(landmarks(pitch: 0.45), id: 7)],
            challenge: [.turnLeft, .lookUp],
            frameTimes: []
        )
        #expect(
            longer.captureProblems.isEmpty && longer.missingFrames.map(\.frame) == [1]
                && longer.missingFrames.map(\.reason) == [.severalFacesInSelfie]
        )
        // A face a fifth of the subject's width is someone walking by behind.
        frames[1].secondFaceWidth = 30
        let background = self.checker.check(frames: frames, challenge: [.turnLeft, .lookUp], frameTimes: [])
        #expect(background.captureProblems.isEmpty && background.stepFrames == [2, 4])
        // Faces found but not measured count as people.
        #expect(FrameObservation(faceCount: 3, face: frames[1].face, thumbnail: nil, digest: [1]).hasAnotherPerson)
    }

    @Test func theChallengeStartsAtTheFirstFrontalFrame() {
        // Already turned at frame 0 (yaw 0.3): the start is frame 1, and the turn is seen from it.
        var frames = [frame(landmarks(yaw: -0.3), id: 30)] + self.performing
        let report = self.checker.check(frames: frames, challenge: [.turnLeft, .lookUp], frameTimes: [])
        #expect(report.startFrame == 1)
        #expect(!report.failures.contains(.notFacingCamera))
        #expect(report.stepFrames == [3, 5])
        // Three turned frames first: no frontal start within the first three usable frames.
        frames =
            [
                frame(landmarks(yaw: -0.3), id: 30), frame(landmarks(yaw: -0.3), id: 31),
                frame(landmarks(yaw: 0.35), id: 32),
            ] + self.performing
        #expect(
            self.checker.check(frames: frames, challenge: [.turnLeft, .lookUp], frameTimes: []).failures.contains(
                .notFacingCamera
            )
        )
    }

    @Test func duplicatesIdentityStartAndTiming() {
        var frames = self.performing + [frame(landmarks(pitch: 0.4), id: 6)]
        frames[3] = frame(landmarks(yaw: 0.05, pitch: 0.55), id: 2)  // same bytes and picture as frame 1
        #expect(
            self.checker.check(frames: frames, challenge: [.turnLeft, .lookUp], frameTimes: []).failures.contains(
                .duplicateFrames
            )
        )
        // Different bytes (a re-encoding), the same picture: left out, not fatal.
        frames[3].digest = [42]
        let reencoded = self.checker.check(frames: frames, challenge: [.turnLeft, .lookUp], frameTimes: [])
        #expect(!reencoded.failures.contains(.duplicateFrames))
        #expect(
            reencoded.missingFrames.map(\.frame) == [3] && reencoded.missingFrames.map(\.reason) == [.duplicateFrames]
        )
        // With only five frames, leaving it out leaves too few: RETRY, saying why.
        var five = self.performing
        five[3] = frame(landmarks(yaw: 0.05, pitch: 0.55), id: 2)
        five[3].digest = [42]
        #expect(
            self.checker.check(frames: five, challenge: [.turnLeft, .lookUp], frameTimes: []).captureProblems == [
                .duplicateFrames
            ]
        )
        #expect(
            !self.checker.check(frames: self.performing, challenge: [.turnLeft, .lookUp], frameTimes: []).failures
                .contains(.duplicateFrames)
        )

        frames = self.performing
        frames[4] = frame(landmarks(pitch: 0.35), embedding: unit(0.9), id: 5)  // distance 2 sin(0.45) = 0.87
        let changed = self.checker.check(frames: frames, challenge: [.turnLeft, .lookUp], frameTimes: [])
        #expect(changed.failures.contains(.identityChanged) && (changed.identitySpread ?? 0) > 0.8)

        frames = self.performing
        frames[0] = frame(landmarks(yaw: 0.3), id: 1)
        frames[1] = frame(landmarks(yaw: 0.3), id: 2)
        frames[2] = frame(landmarks(yaw: 0.32), id: 3)
        #expect(
            self.checker.check(frames: frames, challenge: [.turnLeft, .lookUp], frameTimes: []).failures.contains(
                .notFacingCamera
            )
        )

        for times in [
            [0, 100, 90, 300, 400], [0, 5, 10, 15, 20], [10, 100, 200, 300, 400], [0, 100, 200, 300, 60_000], [0, 100],
        ] {
            #expect(
                self.checker.check(frames: self.performing, challenge: [.turnLeft, .lookUp], frameTimes: times).failures
                    .contains(.implausibleTiming),
                "\(times)"
            )
        }
        #expect(
            !self.checker.check(
                frames: self.performing,
                challenge: [.turnLeft, .lookUp],
                frameTimes: [0, 90, 200, 330, 400]
            ).failures.contains(.implausibleTiming)
        )
    }

    /// The engine embeds only the frames the decision rests on: the start, each step's frame and
    /// the frames matched with the ID card. The identity check holds on them, and needs every one.
    @Test func onlyTheFramesTheDecisionRestsOnAreEmbedded() {
        // The start (frame 0) is also the most frontal; the steps are frames 2 and 4.
        let challenge: [ChallengeStep] = [.turnLeft, .lookUp]
        #expect(self.checker.framesToEmbed(self.performing, challenge: challenge) == [0, 2, 4])
        // Three frames matched: the three most frontal (0, 4 and 3, yaw 0.05) are embedded too.
        let threeMatched = LivenessChecker(policy: .standard, minimumFaceWidth: 64, matchFrames: 3)
        #expect(threeMatched.framesToEmbed(self.performing, challenge: challenge) == [0, 2, 3, 4])
        // Too few usable frames: RETRY whoever it is, nothing to embed.
        #expect(self.checker.framesToEmbed(Array(self.performing.prefix(3)), challenge: challenge).isEmpty)

        // Embedded only there, the burst is judged as when every frame is.
        let needed = self.checker.withOnlyNeededEmbeddings(self.performing, challenge: challenge)
        #expect(needed.map { $0.face?.embedding != nil } == [true, false, true, false, true])
        let report = self.checker.check(frames: needed, challenge: challenge, frameTimes: [])
        #expect(report.failures == [.noParallax])

        // Another person at a step's frame is caught among the embedded frames.
        var swapped = self.performing
        swapped[2] = frame(landmarks(yaw: 0.3), embedding: unit(0.9), id: 3)
        let caught = self.checker.check(
            frames: self.checker.withOnlyNeededEmbeddings(swapped, challenge: challenge),
            challenge: challenge,
            frameTimes: []
        )
        #expect(caught.failures.contains(.identityChanged))

        // A frame the decision rests on without an embedding is not taken on trust.
        var missing = needed
        missing[4].face?.embedding = nil
        #expect(
            self.checker.check(frames: missing, challenge: challenge, frameTimes: []).failures.contains(
                .identityChanged
            )
        )
    }

    /// A face the detector lost and the engine followed from the frame before (dlib, a head
    /// turned past ~45 degrees) counts for its pose, not for identity: its embedding is left out
    /// of the spread and not required, it never starts the challenge, it is never matched.
    @Test func aTrackedFaceCountsForItsPoseNotItsIdentity() {
        let challenge: [ChallengeStep] = [.turnLeft, .lookUp]
        // The turn's frame as far from the others as another person's (0.87): a detected face
        // there is IDENTITY_CHANGED; the same face followed by tracking is not.
        var frames = self.performing
        frames[2] = frame(landmarks(yaw: 0.3), embedding: unit(0.9), id: 3)
        #expect(
            self.checker.check(frames: frames, challenge: challenge, frameTimes: []).failures.contains(.identityChanged)
        )
        frames[2].face?.tracked = true
        let tracked = self.checker.check(frames: frames, challenge: challenge, frameTimes: [])
        #expect(!tracked.failures.contains(.identityChanged) && (tracked.identitySpread ?? 1) < 0.1)
        #expect(tracked.stepFrames == [2, 4])
        // Not embedded at all: not required either (a detected step frame is: see above).
        frames[2].face?.embedding = nil
        #expect(
            !self.checker.check(frames: frames, challenge: challenge, frameTimes: []).failures.contains(
                .identityChanged
            )
        )

        // Never the start: a tracked frontal first frame moves the start to the next frontal one.
        var late = self.performing
        late[0].face?.tracked = true
        let moved = self.checker.check(frames: late, challenge: challenge, frameTimes: [])
        #expect(moved.startFrame == 1)
        // Never matched while a detected face is judged: the most frontal frame, tracked, comes last.
        var frontal = self.performing
        frontal[4].face?.tracked = true
        let report = self.checker.check(frames: frontal, challenge: challenge, frameTimes: [])
        #expect(report.bestFrame == 0 && report.frontalFrames.last == 4)
    }

    @Test func tooFewFramesNeverPass() {
        let report = self.checker.check(
            frames: Array(self.performing.prefix(3)),
            challenge: [.turnLeft],
            frameTimes: []
        )
        #expect(!report.passed)
    }
}

@Suite struct LivenessReportTests {
    @Test func mergingKeepsEveryProblemOnce() {
        var a = LivenessReport()
        a.failures = [.noParallax]
        a.nonPlanarity = 0.1
        var b = LivenessReport()
        b.failures = [.noParallax, .duplicateFrames]
        b.captureProblems = [.selfieBlurred]
        b.identitySpread = 0.3
        let merged = a.merged(with: b)
        #expect(merged.failures == [.noParallax, .duplicateFrames] && merged.captureProblems == [.selfieBlurred])
        #expect(merged.nonPlanarity == 0.1 && merged.identitySpread == 0.3 && !merged.passed)
        #expect(LivenessReport().merged(with: LivenessReport()).passed)
    }
}
