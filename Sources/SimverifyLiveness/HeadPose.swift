import Foundation
import SimverifyCore

/// Head pose read from dlib's five landmarks, in units that need no camera model.
///
/// With the eye centres' midpoint as origin, the eye line as x axis and the eye distance as unit,
/// the base of the nose sits at (`yaw`, `pitch`). The nose base stands out of the plane of the
/// eyes, so turning the head moves it along the eye line (yaw) and nodding moves it toward or
/// away from the line (pitch); both are invariant to where the face is in the frame, its size
/// and its roll. A flat picture tilted about gives much smaller changes, because nothing in it
/// stands out of its plane (the parallax check tests that directly).
public struct HeadPose: Sendable, Hashable {
    /// Nose offset along the eye line, in eye distances; positive toward the image's right, which
    /// is the subject's left for a camera that does not mirror.
    public var yaw: Double
    /// Nose offset below the eye line, in eye distances corrected for yaw; it shrinks when the
    /// head tilts back.
    public var pitch: Double
    /// Angle of the eye line, radians, positive clockwise in image coordinates.
    public var roll: Double
    /// Distance between the eye centres corrected for yaw, pixels: grows when the face comes closer.
    public var eyeDistance: Double

    /// How far the nose base stands in front of the eyes, in eye distances: yaw θ puts the nose
    /// `noseDepth · tan θ` along the eye line while the eye distance shrinks by cos θ, which the
    /// pitch and the eye distance are corrected for. Fitted on the fixture stills of one man at
    /// 0 and about 60 degrees (aws_wall_pose 001 and 003).
    public static let noseDepth = 0.28

    /// Pitch from the nose's place between the eyes and the mouth, scaled so that a nod moves it
    /// about as far as dlib's pitch moves: on aws_wall_pose, YuNet's ratio goes 0.54 (frontal),
    /// 0.46 (looking up, 006), 0.66 (looking down, 009); x3 makes those changes -0.23 and +0.36.
    public static let mouthPitchScale = 3.0

    /// Creates a pose.
    public init(yaw: Double, pitch: Double, roll: Double, eyeDistance: Double) {
        self.yaw = yaw
        self.pitch = pitch
        self.roll = roll
        self.eyeDistance = eyeDistance
    }

    /// The pose of five landmarks in dlib's order (0-1 the eye on the image's right, 2-3 the eye
    /// on the image's left, 4 the nose base); nil unless there are five with distinct eyes.
    public init?(landmarks: [Point2]) {
        guard let keypoints = FaceKeypoints(dlib: landmarks) else { return nil }
        self.init(keypoints: keypoints)
    }

    /// The pose of a face's eyes and nose, from either model. The nose offset is scaled to a nose
    /// base's depth (`noseDepth`), so the policy's tolerances mean the same head turn whichever
    /// model found the points. Nil unless the eyes are distinct.
    public init?(keypoints: FaceKeypoints) {
        let right = keypoints.eyeOnImageRight
        let left = keypoints.eyeOnImageLeft
        let dx = right.x - left.x
        let dy = right.y - left.y
        let distance = (dx * dx + dy * dy).squareRoot()
        guard distance >= 1, keypoints.noseDepth > 0 else { return nil }
        let ex = dx / distance
        let ey = dy / distance
        let unit = Self.noseDepth / keypoints.noseDepth
        let nx = keypoints.nose.x - (left.x + right.x) / 2
        let ny = keypoints.nose.y - (left.y + right.y) / 2
        let yaw = (nx * ex + ny * ey) / distance * unit
        let foreshortening = (1 + (yaw / Self.noseDepth) * (yaw / Self.noseDepth)).squareRoot()
        if let mouth = keypoints.mouth {
            // Where the nose sits between the eye line and the mouth: smaller when the head tilts
            // back, larger when it bows, and the same under yaw and scale (both lengths shrink
            // alike). YuNet's nose tip hardly moves against the eyes alone when the head nods.
            let mx = mouth.x - (left.x + right.x) / 2
            let my = mouth.y - (left.y + right.y) / 2
            let mouthDrop = -mx * ey + my * ex
            guard mouthDrop > 0 else { return nil }
            self.init(
                yaw: yaw,
                pitch: Self.mouthPitchScale * (-nx * ey + ny * ex) / mouthDrop,
                roll: atan2(dy, dx),
                eyeDistance: distance * foreshortening
            )
            return
        }
        self.init(
            yaw: yaw,
            pitch: (-nx * ey + ny * ex) / distance / foreshortening,
            roll: atan2(dy, dx),
            eyeDistance: distance * foreshortening
        )
    }
}

/// The points a head pose is read from: the two eyes and the nose, with how far that nose point
/// stands in front of the eyes (dlib gives the nose base, YuNet the nose tip, which stands further out).
public struct FaceKeypoints: Sendable, Hashable {
    /// The eye on the image's right (the subject's left eye for a camera that does not mirror).
    public var eyeOnImageRight: Point2
    /// The eye on the image's left.
    public var eyeOnImageLeft: Point2
    /// The nose point.
    public var nose: Point2
    /// The nose point's depth in front of the eyes, in eye distances.
    public var noseDepth: Double
    /// The distance between the outer eye corners, in eye-centre distances (for the face crop).
    public var outerEyeSpan: Double
    /// The middle of the mouth, where the model gives it: pitch is then read against it.
    public var mouth: Point2?

    /// YuNet's nose tip, seen against its eye centres, moves like dlib's nose base: 0.41 eye distances
    /// between aws_wall_pose 001 and 003 (0 and about 60 degrees) against dlib's 0.42, so its depth is
    /// 0.28 x 0.41 / 0.42.
    public static let yunetNoseDepth = 0.27

    /// Creates keypoints.
    public init(
        eyeOnImageRight: Point2,
        eyeOnImageLeft: Point2,
        nose: Point2,
        noseDepth: Double,
        outerEyeSpan: Double,
        mouth: Point2? = nil
    ) {
        self.eyeOnImageRight = eyeOnImageRight
        self.eyeOnImageLeft = eyeOnImageLeft
        self.nose = nose
        self.noseDepth = noseDepth
        self.outerEyeSpan = outerEyeSpan
        self.mouth = mouth
    }

    /// From a model's five points, read in that model's order (dlib's, or YuNet's for SFace and
    /// an operator's model).
    public init?(model: FaceModel, points: [Point2]) {
        if model == .dlib { self.init(dlib: points) } else { self.init(yunet: points) }
    }

    /// From dlib's five points (eye corners 0-1 on the image's right, 2-3 on its left, 4 nose base).
    public init?(dlib p: [Point2]) {
        guard p.count == 5 else { return nil }
        let right = Point2(x: (p[0].x + p[1].x) / 2, y: (p[0].y + p[1].y) / 2)
        let left = Point2(x: (p[2].x + p[3].x) / 2, y: (p[2].y + p[3].y) / 2)
        let centres = ((right.x - left.x) * (right.x - left.x) + (right.y - left.y) * (right.y - left.y)).squareRoot()
        let outer = ((p[0].x - p[2].x) * (p[0].x - p[2].x) + (p[0].y - p[2].y) * (p[0].y - p[2].y)).squareRoot()
        self.init(
            eyeOnImageRight: right,
            eyeOnImageLeft: left,
            nose: p[4],
            noseDepth: HeadPose.noseDepth,
            outerEyeSpan: centres > 0 ? outer / centres : 1.5
        )
    }

    /// From YuNet's five points (eye on the image's left, eye on its right, nose tip, mouth corners).
    public init?(yunet p: [Point2]) {
        guard p.count == 5 else { return nil }
        // An outer-corner span of 1.39 eye-centre distances (dlib's points on aws_wall_pose 001 and obama.jpg).
        self.init(
            eyeOnImageRight: p[1],
            eyeOnImageLeft: p[0],
            nose: p[2],
            noseDepth: Self.yunetNoseDepth,
            outerEyeSpan: 1.39,
            mouth: Point2(x: (p[3].x + p[4].x) / 2, y: (p[3].y + p[4].y) / 2)
        )
    }
}
