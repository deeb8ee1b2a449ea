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

/// A landmark in image pixels.
public struct FacePoint: Sendable, Hashable, Codable {
    /// Column.
    public var x: Int
    /// Row.
    public var y: Int

    /// Creates a point.
    public init(x: Int, y: Int) {
        self.x = x
        self.y = y
    }
}

/// How usable a face is, measured on its aligned 150x150 chip.
public struct FaceQuality: Sendable, Hashable, Codable {
    /// Face box width in image pixels.
    public var widthPixels: Int
    /// Face box height in image pixels.
    public var heightPixels: Int
    /// Variance of the Laplacian over the chip's centre: low means blurred. Nil if not embedded.
    public var sharpness: Double?
    /// Mean grey level (0-255) over the chip's centre. Nil if not embedded.
    public var brightness: Double?
}

/// One face found in an image.
public struct DetectedFace: Sendable, Hashable {
    /// The HOG detection box.
    public var box: FaceBox
    /// dlib's HOG detection score (higher is more face-like).
    public var confidence: Double
    /// The five landmarks in dlib's 5-point order: 0 and 1 the outer and inner corner of the eye
    /// on the image's right (the subject's left eye), 2 and 3 the outer and inner corner of the
    /// eye on the image's left, 4 the base of the nose.
    public var landmarks: [FacePoint]
    /// Size, sharpness and brightness.
    public var quality: FaceQuality
    /// The embedding, when requested. Biometric: never persist or log it.
    public var embedding: FaceEmbedding?
}

/// Wall-clock time spent in each stage of one analysis.
public struct StageTimings: Sendable, Hashable {
    /// JPEG decoding and orientation.
    public var decode: Duration = .zero
    /// HOG detection, all upsampling levels tried.
    public var detect: Duration = .zero
    /// 5-point landmarks, all faces.
    public var landmarks: Duration = .zero
    /// Chip extraction and embedding, all embedded faces.
    public var embed: Duration = .zero

    /// Creates zero timings.
    public init() {}

    /// The sum of the stages.
    public var total: Duration { self.decode + self.detect + self.landmarks + self.embed }
}

/// What the engine found in one image.
public struct FaceAnalysis: Sendable {
    /// Decoded width (after scaling and EXIF orientation).
    public var imageWidth: Int
    /// Decoded height.
    public var imageHeight: Int
    /// How many 2x pyramid-up steps the detector ran on for the result.
    public var upsampling: Int
    /// Faces found, most confident first. Zero or several are reported as such, never resolved.
    public var faces: [DetectedFace]
    /// Faces the detector found beyond the ones analysed (capacity limit).
    public var facesNotAnalysed: Int
    /// Time per stage.
    public var timings: StageTimings

    /// The largest face by box area, if any.
    public var largestFace: DetectedFace? {
        self.faces.max(by: { $0.box.area < $1.box.area })
    }
}
