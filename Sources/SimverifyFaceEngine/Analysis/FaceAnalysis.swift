import SimverifyCore

/// A face box in image pixels, inclusive edges (dlib's convention).
public struct FaceBox: Sendable, Hashable, Codable {
    /// Left edge, x of the first column inside the box.
    public var left: Int
    /// Top edge.
    public var top: Int
    /// Right edge, x of the last column inside the box.
    public var right: Int
    /// Bottom edge.
    public var bottom: Int

    /// Creates a box.
    public init(left: Int, top: Int, right: Int, bottom: Int) {
        self.left = left
        self.top = top
        self.right = right
        self.bottom = bottom
    }

    /// Width in pixels.
    public var width: Int { self.right - self.left + 1 }
    /// Height in pixels.
    public var height: Int { self.bottom - self.top + 1 }
    /// Area in pixels.
    public var area: Int { max(0, self.width) * max(0, self.height) }
}

/// A landmark in image pixels (dlib's are whole pixels, YuNet's are not).
public struct FacePoint: Sendable, Hashable, Codable {
    /// Column.
    public var x: Double
    /// Row.
    public var y: Double

    /// Creates a point.
    public init(x: Double, y: Double) {
        self.x = x
        self.y = y
    }
}

/// How usable a face is, measured on its aligned chip (dlib 150x150, SFace 112x112).
public struct FaceQuality: Sendable, Hashable, Codable {
    /// Face box width in image pixels.
    public var widthPixels: Int
    /// Face box height in image pixels.
    public var heightPixels: Int
    /// Variance of the Laplacian over the chip's centre: low means blurred. Nil if not embedded.
    public var sharpness: Double?
    /// Mean grey level (0-255) over the chip's centre. Nil if not embedded.
    public var brightness: Double?
    /// Share of the region below the nose that has the colour of the skin around the eyes
    /// (0-1; `FaceCover`): near 0 under a mask. Nil if not embedded or not measurable (a grey image).
    public var lowerFaceSkin: Double?

    /// Creates a quality measure.
    public init(
        widthPixels: Int,
        heightPixels: Int,
        sharpness: Double? = nil,
        brightness: Double? = nil,
        lowerFaceSkin: Double? = nil
    ) {
        self.widthPixels = widthPixels
        self.heightPixels = heightPixels
        self.sharpness = sharpness
        self.brightness = brightness
        self.lowerFaceSkin = lowerFaceSkin
    }
}

/// One face found in an image.
public struct DetectedFace: Sendable, Hashable {
    /// The detection box.
    public var box: FaceBox
    /// The detector's score: dlib's HOG score (higher is more face-like), or YuNet's 0-1.
    public var confidence: Double
    /// The five landmarks in the model's order (`FaceAnalysis.model`). dlib: 0 and 1 the outer
    /// and inner corner of the eye on the image's right (the subject's left eye), 2 and 3 the
    /// outer and inner corner of the eye on the image's left, 4 the base of the nose. YuNet: the
    /// centre of the eye on the image's left, the centre of the eye on the image's right, the nose
    /// tip, the mouth corner on the image's left, the one on its right.
    public var landmarks: [FacePoint]
    /// Size, sharpness and brightness.
    public var quality: FaceQuality
    /// The embedding, when requested. Biometric: never persist or log it.
    public var embedding: FaceEmbedding?
    /// Not detected but followed from the previous frame of a burst (`FaceTrack`): a head turned
    /// further than the detector finds.
    public var tracked: Bool

    /// Creates a detected face.
    public init(
        box: FaceBox,
        confidence: Double,
        landmarks: [FacePoint],
        quality: FaceQuality,
        embedding: FaceEmbedding? = nil,
        tracked: Bool = false
    ) {
        self.box = box
        self.confidence = confidence
        self.landmarks = landmarks
        self.quality = quality
        self.embedding = embedding
        self.tracked = tracked
    }
}

/// Wall-clock time spent in each stage of one analysis.
public struct StageTimings: Sendable, Hashable {
    /// JPEG decoding and orientation.
    public var decode: Duration = .zero
    /// Detection, every level or input size tried (YuNet's five points come with it).
    public var detect: Duration = .zero
    /// dlib's 5-point landmarks, all faces (zero for YuNet, whose points come with detection).
    public var landmarks: Duration = .zero
    /// Alignment and embedding, all embedded faces.
    public var embed: Duration = .zero

    /// Creates zero timings.
    public init() {}

    /// The sum of the stages.
    public var total: Duration { self.decode + self.detect + self.landmarks + self.embed }
}

/// What the engine found in one image.
public struct FaceAnalysis: Sendable {
    /// The model family that analysed it: it says how to read the landmarks.
    public var model: FaceModel
    /// Decoded width (after scaling and EXIF orientation).
    public var imageWidth: Int
    /// Decoded height.
    public var imageHeight: Int
    /// The detector setting that gave the result: dlib's 2x pyramid-up steps, or YuNet's input
    /// long side in pixels.
    public var detectorInput: Int
    /// Faces found, most confident first. Zero or several are reported as such, never resolved.
    public var faces: [DetectedFace]
    /// Faces the detector found beyond the ones analysed (capacity limit).
    public var facesNotAnalysed: Int
    /// Time per stage.
    public var timings: StageTimings
    /// The largest face's aligned chip when its embedding was deferred
    /// (`EmbeddingSelection.largestFaceDeferred`): `FaceModelSet.embed(chip:)` finishes it.
    /// Biometric: lives only as long as the job that made it.
    var deferredChip: ZeroizingBuffer?

    /// Creates an analysis.
    public init(
        model: FaceModel,
        imageWidth: Int,
        imageHeight: Int,
        detectorInput: Int,
        faces: [DetectedFace],
        facesNotAnalysed: Int = 0,
        timings: StageTimings = StageTimings()
    ) {
        self.model = model
        self.imageWidth = imageWidth
        self.imageHeight = imageHeight
        self.detectorInput = detectorInput
        self.faces = faces
        self.facesNotAnalysed = facesNotAnalysed
        self.timings = timings
    }

    /// The largest face by box area, if any.
    public var largestFace: DetectedFace? {
        self.faces.max(by: { $0.box.area < $1.box.area })
    }
}
