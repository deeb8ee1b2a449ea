import Foundation

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
        guard landmarks.count == 5 else { return nil }
        let right = Point2(x: (landmarks[0].x + landmarks[1].x) / 2, y: (landmarks[0].y + landmarks[1].y) / 2)
        let left = Point2(x: (landmarks[2].x + landmarks[3].x) / 2, y: (landmarks[2].y + landmarks[3].y) / 2)
        let dx = right.x - left.x
        let dy = right.y - left.y
        let distance = (dx * dx + dy * dy).squareRoot()
        guard distance >= 1 else { return nil }
        let ex = dx / distance
        let ey = dy / distance
        let nx = landmarks[4].x - (left.x + right.x) / 2
        let ny = landmarks[4].y - (left.y + right.y) / 2
        let yaw = (nx * ex + ny * ey) / distance
        let foreshortening = (1 + (yaw / Self.noseDepth) * (yaw / Self.noseDepth)).squareRoot()
        self.init(
            yaw: yaw, pitch: (-nx * ey + ny * ex) / distance / foreshortening, roll: atan2(dy, dx),
            eyeDistance: distance * foreshortening
        )
    }
}
