/// What kind of image is analysed: it sets where the detector starts.
public enum ImageKind: String, Sendable, Hashable, CaseIterable {
    /// A camera frame of a person at a counter: the face is usually large.
    case selfie
    /// A photo or scan of an ID card: the portrait is small, so detection starts upsampled.
    case idCard = "id-card"
}

/// How the detector is run: which upsampling levels (dlib) or input sizes (YuNet), and how many
/// faces are analysed.
///
/// dlib's HOG window is 80x80 pixels, so at level 0 it finds faces of about 80 px and up; each
/// 2x pyramid-up step halves that and costs ~4x the time (20 ms at 640x480 without, ~100 ms with
/// one step on the target machine). The policy starts at the cheapest level likely to work for
/// the image kind, and goes up one level at a time while no face is found and the upsampled
/// image stays within `maxUpsampledPixels`.
public struct FaceDetectionPolicy: Sendable, Hashable {
    /// Highest upsampling level tried (0-3).
    public var maxUpsampling: Int
    /// No level is tried whose upsampled image would exceed this many pixels.
    public var maxUpsampledPixels: Int
    /// When set, exactly this level is used, whatever the image (parity tests, benchmarks).
    public var fixedUpsampling: Int?
    /// At most this many faces get landmarks and embeddings; the rest are only counted.
    public var maxFaces: Int
    /// YuNet: the long side of the detector's input for selfies, then for ID cards; a side that
    /// finds no face is followed by the next larger one of `inputSides(kind:)`.
    public var selfieInputSide: Int
    /// YuNet: the first input long side for ID-card images, whose portrait is small.
    public var idCardInputSide: Int
    /// YuNet: the largest input long side tried.
    public var maxInputSide: Int
    /// YuNet: faces scoring below this (0-1) are not faces.
    public var minimumDetectionScore: Double
    /// YuNet: a face to embed that was narrower than this in the detector's input is found again
    /// in its own region at up to its native size, for five points precise enough to align.
    public var refineBelowFaceWidth: Int

    /// dlib: level 0 for selfies and large ID images, 1 for small ID images, up to 2; at most
    /// 2.5 MP upsampled. YuNet: a 320-px input for selfies (a counter selfie's face is large),
    /// 640 for ID cards, up to 960; score 0.6. 4 faces.
    public static let standard = FaceDetectionPolicy(
        maxUpsampling: 2,
        maxUpsampledPixels: 2_500_000,
        fixedUpsampling: nil,
        maxFaces: 4
    )

    /// Creates a policy.
    public init(
        maxUpsampling: Int,
        maxUpsampledPixels: Int,
        fixedUpsampling: Int?,
        maxFaces: Int,
        selfieInputSide: Int = 320,
        idCardInputSide: Int = 640,
        maxInputSide: Int = 960,
        minimumDetectionScore: Double = 0.6,
        refineBelowFaceWidth: Int = 200
    ) {
        self.maxUpsampling = maxUpsampling
        self.maxUpsampledPixels = maxUpsampledPixels
        self.fixedUpsampling = fixedUpsampling
        self.maxFaces = maxFaces
        self.selfieInputSide = selfieInputSide
        self.idCardInputSide = idCardInputSide
        self.maxInputSide = maxInputSide
        self.minimumDetectionScore = minimumDetectionScore
        self.refineBelowFaceWidth = refineBelowFaceWidth
    }

    /// YuNet: the input long sides to try in order for this kind of image, each double the one
    /// before, up to `maxInputSide`.
    public func inputSides(kind: ImageKind) -> [Int] {
        var side = max(32, kind == .selfie ? self.selfieInputSide : self.idCardInputSide)
        var sides = [min(side, self.maxInputSide)]
        while side * 2 <= self.maxInputSide {
            side *= 2
            sides.append(side)
        }
        if let last = sides.last, last < self.maxInputSide, side < self.maxInputSide { sides.append(self.maxInputSide) }
        return sides
    }

    /// The levels to try in order for an image of this size and kind.
    public func levels(width: Int, height: Int, kind: ImageKind) -> [Int] {
        if let fixed = self.fixedUpsampling { return [min(max(fixed, 0), 3)] }
        let fits = { (level: Int) in width * height << (2 * level) <= self.maxUpsampledPixels }
        // An ID card's portrait is small, so a small scan starts upsampled; a scan or photo whose
        // short side is 480 px or more (a 54 mm card at 225 dpi and up) holds a portrait of about
        // 100 px, which level 0 finds at a fifth of the cost.
        let start = kind == .idCard && min(width, height) < 480 && fits(1) ? 1 : 0
        let top = min(self.maxUpsampling, 3)
        guard start <= top else { return [0] }
        let levels = (start...top).filter { $0 == start || fits($0) }
        return levels.isEmpty ? [0] : levels
    }
}
