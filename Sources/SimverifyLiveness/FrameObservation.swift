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
        /// Whether the image's border cuts the face (its box reaches past an edge by more than 2 %
        /// of its size): its landmarks and pose are guesses.
        public var cutByBorder: Bool
        /// Share of the region below the nose with the colour of the skin around the eyes (0-1;
        /// nil: not measured): near 0 when a mask covers it.
        public var lowerFaceSkin: Double?
        /// A screen cue: how far the highest peak of the face's spectrum stands above its ring
        /// (natural log; nil: not measured). A display's pixel grid filmed by a camera leaves a
        /// narrow peak (moire); skin and print do not.
        public var screenPattern: Double?
        /// Not detected but followed from the frame before (a head turned past what the detector
        /// finds): its pose counts, its identity is the neighbouring frames'.
        public var tracked: Bool

        /// Creates a face.
        /// - Parameter keypoints: Eyes and nose; nil reads `landmarks` in dlib's order.
        public init(
            width: Int,
            landmarks: [Point2],
            keypoints: FaceKeypoints? = nil,
            embedding: FaceEmbedding?,
            sharpness: Double,
            brightness: Double,
            crop: FaceCrop?,
            cutByBorder: Bool = false,
            lowerFaceSkin: Double? = nil,
            screenPattern: Double? = nil,
            tracked: Bool = false
        ) {
            self.width = width
            self.landmarks = landmarks
            self.keypoints = keypoints ?? FaceKeypoints(dlib: landmarks)
            self.embedding = embedding
            self.sharpness = sharpness
            self.brightness = brightness
            self.crop = crop
            self.cutByBorder = cutByBorder
            self.lowerFaceSkin = lowerFaceSkin
            self.screenPattern = screenPattern
            self.tracked = tracked
        }
    }

    /// Faces found where the frame was searched.
    public var faceCount: Int
    /// Box width of the largest face but `face` (0: none; `Int.max` when some were found but not
    /// measured): a face much smaller than the subject's is someone in the background.
    public var secondFaceWidth: Int
    /// The largest face.
    public var face: Face?
    /// The whole frame, grey, 32x24, for the near-duplicate check.
    public var thumbnail: GreyImage?
    /// SHA-256 of the frame's encoded bytes.
    public var digest: [UInt8]

    /// Whether another face than the subject's is large enough to be someone at the counter (at
    /// least half the subject's width): background faces smaller than that do not count.
    public var hasAnotherPerson: Bool {
        guard self.faceCount > 1 else { return false }
        guard let face = self.face else { return true }
        return self.secondFaceWidth == Int.max || self.secondFaceWidth * 2 >= face.width
    }

    /// Creates an observation.
    public init(faceCount: Int, face: Face?, thumbnail: GreyImage?, digest: [UInt8], secondFaceWidth: Int? = nil) {
        self.faceCount = faceCount
        self.secondFaceWidth = secondFaceWidth ?? (faceCount > 1 ? Int.max : 0)
        self.face = face
        self.thumbnail = thumbnail
        self.digest = digest
    }
}
