import SimverifyCore

/// A grey crop of a face's interior (eyes, nose, cheeks; no background), with where it came
/// from: image point = origin + crop point × scale.
public struct FaceCrop: Sendable {
    /// Side of the crop in pixels.
    public static let side = 96
    /// The pixels.
    public var image: GreyImage
    /// Image column of the crop's (0, 0).
    public var originX: Double
    /// Image row of the crop's (0, 0).
    public var originY: Double
    /// Image pixels per crop pixel.
    public var scale: Double

    /// Creates a crop.
    public init(image: GreyImage, originX: Double, originY: Double, scale: Double) {
        self.image = image
        self.originX = originX
        self.originY = originY
        self.scale = scale
    }

    /// An image point in crop coordinates.
    public func toCrop(_ p: Point2) -> Point2 {
        Point2(x: (p.x - self.originX) / self.scale, y: (p.y - self.originY) / self.scale)
    }
}

/// What the face engine saw in one selfie frame, reduced to what the liveness checks need.
public struct FrameObservation: Sendable {
    /// The largest face of the frame.
    public struct Face: Sendable {
        /// Box width, pixels.
        public var width: Int
        /// The five landmarks, image pixels, in the model's order (tracked for parallax).
        public var landmarks: [Point2]
        /// Eyes and nose, for the head pose.
        public var keypoints: FaceKeypoints?
        /// The embedding. Biometric: never persisted or logged.
        public var embedding: FaceEmbedding?
        /// Variance of the Laplacian on the aligned chip.
        public var sharpness: Double
        /// Mean grey level on the aligned chip.
        public var brightness: Double
        /// The face's interior for the parallax check.
        public var crop: FaceCrop?

        /// Creates a face.
        /// - Parameter keypoints: Eyes and nose; nil reads `landmarks` in dlib's order.
        public init(
            width: Int, landmarks: [Point2], keypoints: FaceKeypoints? = nil, embedding: FaceEmbedding?, sharpness: Double,
            brightness: Double, crop: FaceCrop?
        ) {
            self.width = width
            self.landmarks = landmarks
            self.keypoints = keypoints ?? FaceKeypoints(dlib: landmarks)
            self.embedding = embedding
            self.sharpness = sharpness
            self.brightness = brightness
            self.crop = crop
        }
    }

    /// Faces found where the frame was searched.
    public var faceCount: Int
    /// The largest face.
    public var face: Face?
    /// The whole frame, grey, 32x24, for the near-duplicate check.
    public var thumbnail: GreyImage?
    /// SHA-256 of the frame's encoded bytes.
    public var digest: [UInt8]

    /// Creates an observation.
    public init(faceCount: Int, face: Face?, thumbnail: GreyImage?, digest: [UInt8]) {
        self.faceCount = faceCount
        self.face = face
        self.thumbnail = thumbnail
        self.digest = digest
    }
}
