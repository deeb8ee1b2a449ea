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
    /// Frames left out of the judgement, with the reason each was.
    public var missingFrames: [(frame: Int, reason: ReasonCode)] = []
    /// The frame the challenge started at (the first frontal usable one).
    public var startFrame: Int?
    /// The usable frames from the start on: those the challenge, parallax and best frame are read from.
    public var judgedFrames: [Int] = []
    /// Largest embedding distance between two frames.
    public var identitySpread: Double?
    /// Largest share of tracked points off one homography, over the frame pairs compared.
    public var nonPlanarity: Double?
    /// Median screen cue over the frames with one face large enough (nil: fewer than 3 measured).
    public var screenPattern: Double?
    /// The frame to compare with the ID card: the most frontal one.
    public var bestFrame: Int?
    /// The judged frames from the most frontal (the least |yaw| + |roll|) to the least: the
    /// frames a multi-frame match averages (`MatchPolicy.matchFrames`), `bestFrame` first.
    public var frontalFrames: [Int] = []

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
    /// The frames whose embeddings the check needs, chosen from observations without them (the
    /// engine embeds only the union of every check's choice).
    func framesToEmbed(_ frames: [FrameObservation], challenge: [ChallengeStep]) -> [Int]
}

extension LivenessCheck {
    /// A check that reads no embedding needs none.
    public func framesToEmbed(_ frames: [FrameObservation], challenge: [ChallengeStep]) -> [Int] { [] }
}

extension LivenessReport {
    /// The report of two checks on one burst: every problem of either, the first's measurements
    /// where it has them.
    public func merged(with other: LivenessReport) -> LivenessReport {
        var merged = self
        for reason in other.captureProblems where !merged.captureProblems.contains(reason) {
            merged.captureProblems.append(reason)
        }
        for reason in other.failures where !merged.failures.contains(reason) { merged.failures.append(reason) }
        if merged.poses.isEmpty { merged.poses = other.poses }
        if merged.stepFrames.isEmpty { merged.stepFrames = other.stepFrames }
        if merged.missingFrames.isEmpty { merged.missingFrames = other.missingFrames }
        if merged.judgedFrames.isEmpty { merged.judgedFrames = other.judgedFrames }
        merged.startFrame = merged.startFrame ?? other.startFrame
        merged.identitySpread = merged.identitySpread ?? other.identitySpread
        merged.nonPlanarity = merged.nonPlanarity ?? other.nonPlanarity
        merged.screenPattern = merged.screenPattern ?? other.screenPattern
        merged.bestFrame = merged.bestFrame ?? other.bestFrame
        if merged.frontalFrames.isEmpty { merged.frontalFrames = other.frontalFrames }
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
    /// The most frontal frames matched with the ID card (the match policy's `matchFrames`).
    public var matchFrames: Int

    /// Creates a checker.
    public init(policy: LivenessPolicy, minimumFaceWidth: Int, matchFrames: Int = 1) {
        self.policy = policy
        self.minimumFaceWidth = minimumFaceWidth
        self.matchFrames = matchFrames
    }

    /// Which frames of a burst are usable, where the challenge starts, which frames perform its
    /// steps and which are the most frontal: what the checks and the choice of frames to embed share.
    struct Plan {
        /// Why each frame is left out (nil: usable).
        var problems: [ReasonCode?]
        /// The usable frames.
        var usable: [Int]
        /// The frame the challenge starts at; nil when the burst has too few usable frames.
        var start: Int?
        /// Whether `start` faces the camera (otherwise it is the first usable frame).
        var startsFacingCamera = false
        /// The usable frames from the start on.
        var judged: [Int] = []
        /// The judged frames from the most frontal to the least.
        var frontalFrames: [Int] = []
        /// Each step's frame, as an index into `judged` (nil: not seen in order).
        var stepFrames: [Int?] = []

        /// The frames the decision rests on: the start, each step's frame, the `matchFrames` most frontal.
        func identityFrames(matchFrames: Int) -> [Int] {
            guard let start else { return [] }
            let steps = self.stepFrames.compactMap { $0.map { self.judged[$0] } }
            return Array(Set([start] + steps + self.frontalFrames.prefix(max(1, matchFrames)))).sorted()
        }
    }

    /// The frames of a burst to embed: those its decision rests on (`Plan.identityFrames`); none
    /// when too few frames are usable (the burst is RETRY, whoever is in it). Cheap: no parallax,
    /// no embedding.
    public func framesToEmbed(_ frames: [FrameObservation], challenge: [ChallengeStep]) -> [Int] {
        let poses = frames.map { self.pose($0) }
        return self.plan(frames, poses: poses, challenge: challenge).identityFrames(matchFrames: self.matchFrames)
    }

    /// `frames` with the embeddings of the frames `framesToEmbed` does not choose removed: what a
    /// burst analysed with every frame embedded looks like to the checks when the engine embeds
    /// only what they need (the service's way). The evaluation tools judge with it, so that they
    /// measure what the server decides.
    public func withOnlyNeededEmbeddings(_ frames: [FrameObservation], challenge: [ChallengeStep]) -> [FrameObservation]
    {
        let needed = Set(self.framesToEmbed(frames, challenge: challenge))
        return frames.indices.map { i in
            var frame = frames[i]
            if !needed.contains(i) { frame.face?.embedding = nil }
            return frame
        }
    }

    /// A frame's head pose; nil where no single face (another person in view) gives one.
    func pose(_ frame: FrameObservation) -> HeadPose? {
        frame.hasAnotherPerson ? nil : frame.face.flatMap { $0.keypoints.flatMap(HeadPose.init(keypoints:)) }
    }

    /// The plan of a burst (see `check`).
    func plan(_ frames: [FrameObservation], poses: [HeadPose?], challenge: [ChallengeStep]) -> Plan {
        var problems = frames.indices.map { self.problem(frames[$0], pose: poses[$0]) }
        // A frame (nearly) the same picture as an earlier usable one adds nothing: it is left out.
        // The same bytes twice is no camera's doing: that fails in `check`.
        var kept: [Int] = []
        for i in frames.indices where problems[i] == nil {
            if let a = frames[i].thumbnail,
                kept.contains(where: { j in
                    frames[j].thumbnail.map { a.meanAbsoluteDifference(to: $0) < self.policy.duplicateFrameDifference }
                        ?? false
                })
            {
                problems[i] = .duplicateFrames
            } else {
                kept.append(i)
            }
        }
        let usable = frames.indices.filter { problems[$0] == nil }
        var plan = Plan(problems: problems, usable: usable)
        let needed = max(
            self.policy.minimumUsableFrames,
            Int((self.policy.minimumUsableShare * Double(frames.count)).rounded(.up))
        )
        guard frames.count >= max(2, self.policy.minimumFrames), usable.count >= max(2, needed) else { return plan }
        // The challenge starts at the first frontal frame among the first usable ones.
        let frontal = usable.prefix(max(1, self.policy.startWithinFrames)).first {
            abs(poses[$0]!.yaw) <= self.policy.maximumStartYaw && frames[$0].face?.tracked == false
        }
        let start = frontal ?? usable[0]
        plan.start = start
        plan.startsFacingCamera = frontal != nil
        let judged = usable.filter { $0 >= start }
        plan.judged = judged
        let judgedPoses = judged.map { poses[$0]! }
        // Detected faces before tracked ones: a tracked face is not matched with the ID card.
        let tracked = judged.map { frames[$0].face?.tracked == true }
        plan.frontalFrames = judgedPoses.indices.sorted { a, b in
            let (x, y) = (
                abs(judgedPoses[a].yaw) + abs(judgedPoses[a].roll), abs(judgedPoses[b].yaw) + abs(judgedPoses[b].roll)
            )
            return tracked[a] != tracked[b] ? !tracked[a] : x != y ? x < y : a < b
        }.map { judged[$0] }
        plan.stepFrames = self.stepFrames(judgedPoses, challenge: challenge)
        return plan
    }

    /// Runs every check on `frames`, captured in order at `frameTimes` (milliseconds since the
    /// first frame; empty when the client sent none), against `challenge`.
    ///
    /// A burst is judged on its usable frames: a frame with no face, a face cut by the image's
    /// border, too small, blurred, badly exposed or covered by a mask is missing, not fatal. The burst is judged when
    /// at least `minimumUsableFrames` and `minimumUsableShare` of its frames are usable; otherwise
    /// it is RETRY with the reasons that removed frames, the most frequent first. A frame nearly
    /// the same picture as an earlier usable one is left out too (DUPLICATE_FRAMES); the same
    /// bytes twice fail the burst. The challenge starts at the first frontal frame among the first
    /// `startWithinFrames` usable ones. A frame with another person in it (a second face at least
    /// half the subject's width) is left out too (SEVERAL_FACES_IN_SELFIE): someone passing behind
    /// costs a frame, someone staying costs the burst. Smaller faces behind are ignored.
    ///
    /// A screen cue comes first and from every frame with one face large enough, usable or not:
    /// when the median of their faces' screen patterns passes `maximumScreenPattern`, the burst
    /// was filmed off a display and fails SCREEN_PATTERN, whatever else; an attack named is not
    /// asked to try again (a display's moire also costs frames as blurred or covered).
    public func check(frames: [FrameObservation], challenge: [ChallengeStep], frameTimes: [Int]) -> LivenessReport {
        var report = LivenessReport()
        report.poses = frames.map { self.pose($0) }
        report.screenPattern = self.screenPattern(frames)
        if self.policy.maximumScreenPattern > 0, let pattern = report.screenPattern,
            pattern > self.policy.maximumScreenPattern
        {
            report.failures.append(.screenPattern)
        }
        let plan = self.plan(frames, poses: report.poses, challenge: challenge)
        report.missingFrames = frames.indices.compactMap { i in plan.problems[i].map { (i, $0) } }
        guard frames.count >= max(2, self.policy.minimumFrames) else {
            report.failures.append(.challengeNotPerformed)
            return report
        }
        guard let start = plan.start else {
            if report.failures.isEmpty { report.captureProblems = Self.byFrequency(plan.problems.compactMap { $0 }) }
            return report
        }
        let usable = plan.usable
        if !self.timingIsPlausible(frameTimes, frames: frames.count) { report.failures.append(.implausibleTiming) }
        if self.hasRepeatedBytes(frames) { report.failures.append(.duplicateFrames) }
        if !plan.startsFacingCamera { report.failures.append(.notFacingCamera) }
        report.startFrame = start
        let judged = plan.judged
        report.judgedFrames = judged
        let poses = judged.map { report.poses[$0]! }
        report.frontalFrames = plan.frontalFrames
        report.bestFrame = report.frontalFrames.first

        let steps = plan.stepFrames
        report.stepFrames = steps.map { $0.map { judged[$0] } }
        if steps.contains(where: { $0 == nil }) {
            // Every step somewhere, but not in order, is an order violation; otherwise a step is missing.
            let anywhere = challenge.allSatisfy { step in
                poses.indices.dropFirst().contains { self.performs(step, poses[$0], from: poses[0]) }
            }
            report.failures.append(anywhere ? .challengeOutOfOrder : .challengeNotPerformed)
        }

        // One person: every frame the decision rests on (the start, each step's frame, the frames
        // matched with the ID card) must be embedded, and no two embedded usable frames (those
        // before the start too) may be further apart than the policy allows. The engine embeds
        // only `framesToEmbed` of a burst; a caller that embeds every frame gets the spread of all.
        // A tracked face (followed from its neighbour, not detected: a head turned past what the
        // detector finds) is left out: its identity is its neighbours', and an embedding of a
        // near-profile is as far from the frontal one as another person's.
        let detected = usable.filter { frames[$0].face?.tracked == false }
        let embeddings = detected.compactMap { frames[$0].face?.embedding }
        var spread = 0.0
        for i in embeddings.indices {
            for j in embeddings.indices where j > i { spread = max(spread, embeddings[i].distance(to: embeddings[j])) }
        }
        report.identitySpread = spread
        let unembedded = plan.identityFrames(matchFrames: self.matchFrames).contains {
            frames[$0].face?.tracked == false && frames[$0].face?.embedding == nil
        }
        if unembedded || spread > self.policy.maximumIdentitySpread {
            report.failures.append(.identityChanged)
        }

        report.nonPlanarity = self.nonPlanarity(
            judged.compactMap { frames[$0].face },
            stepFrames: steps.compactMap { $0 }
        )
        if (report.nonPlanarity ?? 0) < self.policy.minimumNonPlanarity { report.failures.append(.noParallax) }
        return report
    }

    /// The median screen cue of the frames with one face (no other person) at least the smallest
    /// usable width; nil when fewer than 3 were measured.
    public func screenPattern(_ frames: [FrameObservation]) -> Double? {
        let values = frames.compactMap { frame -> Double? in
            guard !frame.hasAnotherPerson, let face = frame.face, face.width >= self.minimumFaceWidth else {
                return nil
            }
            return face.screenPattern
        }
        guard values.count >= 3 else { return nil }
        return median(values)
    }

    /// Why the capture gates would leave this frame out of a burst (nil: they would keep it): what
    /// CheckFrame tells a counter page before it captures.
    public func captureProblem(_ frame: FrameObservation) -> ReasonCode? {
        self.problem(frame, pose: self.pose(frame))
    }

    /// Why a frame cannot be judged (nil: it can): no single face, a face cut by the border, too
    /// small, blurred, badly exposed, covered below the nose (a mask), or landmarks that give no pose.
    func problem(_ frame: FrameObservation, pose: HeadPose?) -> ReasonCode? {
        guard !frame.hasAnotherPerson, let face = frame.face else {
            return frame.hasAnotherPerson ? .severalFacesInSelfie : .noFaceInSelfie
        }
        if face.cutByBorder { return .selfieFaceCut }
        if face.width < self.minimumFaceWidth { return .selfieFaceTooSmall }
        // Exposure before sharpness: a dark face has little contrast and so measures soft; it is
        // named for what the customer can fix (the light), not as a blur.
        if !self.policy.brightnessRange.contains(face.brightness) { return .selfiePoorlyExposed }
        if face.sharpness < self.policy.minimumSharpness { return .selfieBlurred }
        if let skin = face.lowerFaceSkin, skin < self.policy.minimumLowerFaceSkin { return .selfieFaceCovered }
        if pose == nil { return .noFaceInSelfie }
        return nil
    }

    /// Each reason once, the most frequent first (ties in order of first appearance).
    static func byFrequency(_ reasons: [ReasonCode]) -> [ReasonCode] {
        var unique: [ReasonCode] = []
        for reason in reasons where !unique.contains(reason) { unique.append(reason) }
        return unique.enumerated().sorted { a, b in
            let ca = reasons.filter { $0 == a.element }.count
            let cb = reasons.filter { $0 == b.element }.count
            return ca != cb ? ca > cb : a.offset < b.offset
        }.map(\.element)
    }

    /// Times, when given, start at 0, rise by at least the camera interval, and fit in a burst.
    func timingIsPlausible(_ times: [Int], frames: Int) -> Bool {
        guard !times.isEmpty else { return true }
        guard times.count == frames, times[0] == 0, let last = times.last, last <= self.policy.maximumBurstMilliseconds
        else { return false }
        return zip(times, times.dropFirst()).allSatisfy { $1 - $0 >= self.policy.minimumFrameIntervalMilliseconds }
    }

    /// Two frames with the same bytes.
    func hasRepeatedBytes(_ frames: [FrameObservation]) -> Bool {
        var seen = Set<[UInt8]>()
        return frames.contains { !$0.digest.isEmpty && !seen.insert($0.digest).inserted }
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
            guard
                let found = poses.indices.first(where: { $0 > after && self.performs(step, poses[$0], from: poses[0]) })
            else {
                result += Array(repeating: nil, count: challenge.count - result.count)
                break
            }
            result.append(found)
            after = found
        }
        return result
    }

    /// The largest share of tracked points off one homography, over consecutive frames, over
    /// every pair of up to 10 frames spread over the burst, and over the first frame against
    /// each step's frame and against the last.
    func nonPlanarity(_ faces: [FrameObservation.Face], stepFrames: [Int]) -> Double? {
        var pairs = Set<[Int]>()
        // Every pair of (at most 10, evenly spread) frames: moving closer shows its parallax
        // between frames far apart in size, not always against the start (the Amplify clip).
        let spread = faces.count <= 10 ? Array(faces.indices) : (0..<10).map { $0 * (faces.count - 1) / 9 }
        for i in spread { for j in spread where j > i { pairs.insert([i, j]) } }
        for i in faces.indices.dropFirst() { pairs.insert([i - 1, i]) }
        for j in stepFrames where j > 0 { pairs.insert([0, j]) }
        // The start against the last frame: the whole motion, where steps between frames are small.
        if faces.count > 1 { pairs.insert([0, faces.count - 1]) }
        var best: Double?
        for pair in pairs.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            guard let a = faces[pair[0]].crop, let b = faces[pair[1]].crop else { continue }
            let fit = PlanarMotion.fit(
                a.image,
                landmarksA: faces[pair[0]].landmarks.map(a.toCrop),
                b.image,
                landmarksB: faces[pair[1]].landmarks.map(b.toCrop),
                tolerance: self.policy.homographyTolerance
            )
            guard fit.tracked >= self.policy.minimumTrackedPoints else { continue }
            best = max(best ?? 0, fit.nonPlanarity)
        }
        return best
    }
}
