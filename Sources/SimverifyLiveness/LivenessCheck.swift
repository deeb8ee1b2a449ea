import SimverifyCore

/// What the liveness checks found in one burst.
public struct LivenessReport: Sendable {
    /// Capture problems (no face, several faces, small, blurred, badly exposed): the decision is RETRY.
    public var captureProblems: [ReasonCode] = []
    /// Failed liveness checks: the decision is LIVENESS_FAILED.
    public var failures: [ReasonCode] = []
    /// Head pose per frame (nil where no single face was found).
    public var poses: [HeadPose?] = []
    /// Frame at which each challenge step was seen, in order (nil: not seen in order).
    public var stepFrames: [Int?] = []
    /// Largest embedding distance between two frames.
    public var identitySpread: Double?
    /// Largest share of tracked points off one homography, over the frame pairs compared.
    public var nonPlanarity: Double?
    /// The frame to compare with the ID card: the most frontal one.
    public var bestFrame: Int?

    /// Whether the burst passed every check.
    public var passed: Bool { self.captureProblems.isEmpty && self.failures.isEmpty }

    /// An empty report (a pass); checks fill it in.
    public init() {}
}

/// A liveness check: observations of a burst in, a report out. The server runs every check it is
/// given and merges their reports; a learned presentation-attack model (on the frames' face
/// crops) would be one more conformer beside the geometric `LivenessChecker`.
public protocol LivenessCheck: Sendable {
    /// Runs the check on `frames`, captured at `frameTimes`, against `challenge`.
    func check(frames: [FrameObservation], challenge: [ChallengeStep], frameTimes: [Int]) -> LivenessReport
}

extension LivenessReport {
    /// The report of two checks on one burst: every problem of either, the first's measurements
    /// where it has them.
    public func merged(with other: LivenessReport) -> LivenessReport {
        var merged = self
        for reason in other.captureProblems where !merged.captureProblems.contains(reason) { merged.captureProblems.append(reason) }
        for reason in other.failures where !merged.failures.contains(reason) { merged.failures.append(reason) }
        if merged.poses.isEmpty { merged.poses = other.poses }
        if merged.stepFrames.isEmpty { merged.stepFrames = other.stepFrames }
        merged.identitySpread = merged.identitySpread ?? other.identitySpread
        merged.nonPlanarity = merged.nonPlanarity ?? other.nonPlanarity
        merged.bestFrame = merged.bestFrame ?? other.bestFrame
        return merged
    }
}

/// The geometric and temporal liveness checks of DESIGN.md ("Liveness"), run on what the engine
/// observed.
public struct LivenessChecker: LivenessCheck {
    /// Tolerances.
    public var policy: LivenessPolicy
    /// Smallest usable face, box width in pixels (the match policy's selfie minimum).
    public var minimumFaceWidth: Int

    /// Creates a checker.
    public init(policy: LivenessPolicy, minimumFaceWidth: Int) {
        self.policy = policy
        self.minimumFaceWidth = minimumFaceWidth
    }

    /// Runs every check on `frames`, captured in order at `frameTimes` (milliseconds since the
    /// first frame; empty when the client sent none), against `challenge`.
    public func check(frames: [FrameObservation], challenge: [ChallengeStep], frameTimes: [Int]) -> LivenessReport {
        var report = LivenessReport()
        report.captureProblems = self.captureProblems(frames)
        report.poses = frames.map { $0.faceCount == 1 ? $0.face.flatMap { $0.keypoints.flatMap(HeadPose.init(keypoints:)) } : nil }
        // Every frame has one usable face here, so a missing pose means landmarks with no eye
        // distance: nothing can be read from them.
        let poses = report.poses.compactMap { $0 }
        guard report.captureProblems.isEmpty, frames.count >= max(2, self.policy.minimumFrames), poses.count == frames.count else {
            if report.captureProblems.isEmpty { report.failures.append(.challengeNotPerformed) }
            return report
        }
        report.bestFrame = poses.indices.min(by: { abs(poses[$0].yaw) + abs(poses[$0].roll) < abs(poses[$1].yaw) + abs(poses[$1].roll) })

        if !self.timingIsPlausible(frameTimes, frames: frames.count) { report.failures.append(.implausibleTiming) }
        if self.hasDuplicates(frames) { report.failures.append(.duplicateFrames) }
        if abs(poses[0].yaw) > self.policy.maximumStartYaw { report.failures.append(.notFacingCamera) }

        report.stepFrames = self.stepFrames(poses, challenge: challenge)
        if report.stepFrames.contains(where: { $0 == nil }) {
            // Every step somewhere, but not in order, is an order violation; otherwise a step is missing.
            let anywhere = challenge.allSatisfy { step in poses.indices.dropFirst().contains { self.performs(step, poses[$0], from: poses[0]) } }
            report.failures.append(anywhere ? .challengeOutOfOrder : .challengeNotPerformed)
        }

        let faces = frames.compactMap(\.face)
        let embeddings = faces.compactMap(\.embedding)
        var spread = 0.0
        for i in embeddings.indices { for j in embeddings.indices where j > i { spread = max(spread, embeddings[i].distance(to: embeddings[j])) } }
        report.identitySpread = spread
        if embeddings.count != frames.count || spread > self.policy.maximumIdentitySpread { report.failures.append(.identityChanged) }

        report.nonPlanarity = self.nonPlanarity(faces, stepFrames: report.stepFrames.compactMap { $0 })
        if (report.nonPlanarity ?? 0) < self.policy.minimumNonPlanarity { report.failures.append(.noParallax) }
        return report
    }

    /// Exactly one face per frame, of usable size, sharpness and exposure.
    func captureProblems(_ frames: [FrameObservation]) -> [ReasonCode] {
        var problems: [ReasonCode] = []
        func add(_ reason: ReasonCode) { if !problems.contains(reason) { problems.append(reason) } }
        for frame in frames {
            guard frame.faceCount == 1, let face = frame.face else {
                add(frame.faceCount == 0 ? .noFaceInSelfie : .severalFacesInSelfie)
                continue
            }
            if face.width < self.minimumFaceWidth { add(.selfieFaceTooSmall) }
            if face.sharpness < self.policy.minimumSharpness { add(.selfieBlurred) }
            if !self.policy.brightnessRange.contains(face.brightness) { add(.selfiePoorlyExposed) }
        }
        return problems
    }

    /// Times, when given, start at 0, rise by at least the camera interval, and fit in a burst.
    func timingIsPlausible(_ times: [Int], frames: Int) -> Bool {
        guard !times.isEmpty else { return true }
        guard times.count == frames, times[0] == 0, let last = times.last, last <= self.policy.maximumBurstMilliseconds else { return false }
        return zip(times, times.dropFirst()).allSatisfy { $1 - $0 >= self.policy.minimumFrameIntervalMilliseconds }
    }

    /// Two frames with the same bytes, or whose thumbnails are (nearly) the same picture.
    func hasDuplicates(_ frames: [FrameObservation]) -> Bool {
        for i in frames.indices {
            for j in frames.indices where j > i {
                if frames[i].digest == frames[j].digest { return true }
                if let a = frames[i].thumbnail, let b = frames[j].thumbnail,
                    a.meanAbsoluteDifference(to: b) < self.policy.duplicateFrameDifference
                {
                    return true
                }
            }
        }
        return false
    }

    /// Whether `pose` has done `step` relative to the first frame's pose: the step's own motion
    /// passes its threshold and dominates the other axis (measured in thresholds), so one pose
    /// never counts as two steps; moving closer must come with neither turn nor nod.
    public func performs(_ step: ChallengeStep, _ pose: HeadPose, from start: HeadPose) -> Bool {
        let yaw = (pose.yaw - start.yaw) / self.policy.turnYaw
        let pitchChange = pose.pitch - start.pitch
        let pitch = pitchChange < 0 ? pitchChange / self.policy.lookUpPitch : pitchChange / self.policy.lookDownPitch
        switch step {
        case .turnLeft: return yaw >= 1 && yaw >= abs(pitch)
        case .turnRight: return -yaw >= 1 && -yaw >= abs(pitch)
        case .lookUp: return -pitch >= 1 && -pitch >= abs(yaw)
        case .lookDown: return pitch >= 1 && pitch >= abs(yaw)
        case .moveCloser:
            return pose.eyeDistance >= start.eyeDistance * self.policy.moveCloserScale && abs(yaw) < 1 && abs(pitch) < 1
        }
    }

    /// The first frame performing each step after the previous step's frame.
    func stepFrames(_ poses: [HeadPose], challenge: [ChallengeStep]) -> [Int?] {
        var result: [Int?] = []
        var after = 0
        for step in challenge {
            guard let found = poses.indices.first(where: { $0 > after && self.performs(step, poses[$0], from: poses[0]) }) else {
                result += Array(repeating: nil, count: challenge.count - result.count)
                break
            }
            result.append(found)
            after = found
        }
        return result
    }

    /// The largest share of tracked points off one homography, over consecutive frames and over
    /// the first frame against each step's frame.
    func nonPlanarity(_ faces: [FrameObservation.Face], stepFrames: [Int]) -> Double? {
        var pairs = Set<[Int]>()
        for i in faces.indices.dropFirst() { pairs.insert([i - 1, i]) }
        for j in stepFrames where j > 0 { pairs.insert([0, j]) }
        var best: Double?
        for pair in pairs.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            guard let a = faces[pair[0]].crop, let b = faces[pair[1]].crop else { continue }
            let fit = PlanarMotion.fit(
                a.image, landmarksA: faces[pair[0]].landmarks.map(a.toCrop), b.image, landmarksB: faces[pair[1]].landmarks.map(b.toCrop),
                tolerance: self.policy.homographyTolerance
            )
            guard fit.tracked >= self.policy.minimumTrackedPoints else { continue }
            best = max(best ?? 0, fit.nonPlanarity)
        }
        return best
    }
}
