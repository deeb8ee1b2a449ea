import CSimverifyDlib
import SimverifyCore
import SimverifyLiveness

/// Which faces get an embedding.
public enum EmbeddingSelection: Sendable, Hashable {
    /// No embedding: detection, landmarks and size only (cheap).
    case none
    /// Only the largest face.
    case largestFace
    /// The largest face aligned and measured now, its network pass left for later
    /// (`FaceAnalysis.deferredChip`): a burst embeds only the frames its decision rests on. dlib
    /// embeds at once (its network is not what a burst waits for).
    case largestFaceDeferred
    /// Every analysed face.
    case allFaces
}

/// Where a face was in the previous frame of a burst: the region to search first and its size,
/// and (dlib) the face itself, to follow when the detector loses it (`FaceTrack`).
struct Tracking {
    /// The previous box grown by 35 % of its size on every side.
    var region: FaceBox
    var faceWidth: Int
    /// The previous frame's face box.
    var previous: FaceBox
    /// The previous frame's face, grey (`FaceTrack.template`).
    var template: GreyImage?
    /// Whether `region` is searched before the whole frame (the first and last frames of a burst
    /// are searched whole).
    var searchesRegionFirst: Bool

    /// Tracking from the face at `box`: the region around it, searched first when `regionFirst`.
    init(previous box: FaceBox, template: GreyImage?, regionFirst: Bool) {
        self.region = FaceBox(
            left: box.left - box.width * 35 / 100,
            top: box.top - box.height * 35 / 100,
            right: box.right + box.width * 35 / 100,
            bottom: box.bottom + box.height * 35 / 100
        )
        self.faceWidth = box.width
        self.previous = box
        self.template = template
        self.searchesRegionFirst = regionFirst
    }

    /// The region clipped to an image, or nil when too small to search (40 px a side) or not
    /// searched first.
    func searchRegion(imageWidth: Int, imageHeight: Int) -> FaceBox? {
        guard self.searchesRegionFirst else { return nil }
        let clipped = FaceBox(
            left: max(0, self.region.left),
            top: max(0, self.region.top),
            right: min(imageWidth - 1, self.region.right),
            bottom: min(imageHeight - 1, self.region.bottom)
        )
        return clipped.right - clipped.left >= 40 && clipped.bottom - clipped.top >= 40 ? clipped : nil
    }
}

extension FaceBox {
    /// Whether a detection in this search region touches one of its edges that lies inside the
    /// image: a partial detection of a face that moved further, so the whole frame must be searched.
    func cuts(_ box: FaceBox, imageWidth: Int, imageHeight: Int) -> Bool {
        (self.left > 0 && box.left <= self.left + 2) || (self.top > 0 && box.top <= self.top + 2)
            || (self.right < imageWidth - 1 && box.right >= self.right - 2)
            || (self.bottom < imageHeight - 1 && box.bottom >= self.bottom - 2)
    }
}

extension DlibModelSet {
    /// Runs HOG detection, 5-point landmarks and the ResNet embedding. Runs on a worker thread.
    func analyze(
        _ image: RGBImage,
        kind: ImageKind,
        policy: FaceDetectionPolicy,
        embeddings: EmbeddingSelection,
        tracking: Tracking?,
        timings: inout StageTimings
    ) throws -> FaceAnalysis {
        let clock = ContinuousClock()
        return try image.pixels.withUnsafeBytes { pixels in
            var view = sv_dlib_image(
                pixels: pixels.baseAddress!.assumingMemoryBound(to: UInt8.self),
                width: Int32(image.width),
                height: Int32(image.height),
                stride: Int32(image.stride)
            )
            let capacity = max(1, policy.maxFaces)
            var boxes = [sv_dlib_box](repeating: sv_dlib_box(), count: capacity)
            var found: Int32 = 0
            var level = 0
            // Boxes found in `detectView` with `levels`, moved by `offset` into image coordinates.
            func detect(_ detectView: inout sv_dlib_image, levels: [Int], offset: (x: Int32, y: Int32) = (0, 0)) throws
            {
                for candidate in levels {
                    level = candidate
                    let status = sv_dlib_detect(
                        self.handle,
                        &detectView,
                        Int32(candidate),
                        &boxes,
                        Int32(capacity),
                        &found
                    )
                    guard status == SV_DLIB_OK else { throw FaceEngineError.from(status) }
                    if found > 0 { break }
                }
                for i in 0..<Int(min(found, Int32(capacity))) {
                    boxes[i].left += offset.x
                    boxes[i].right += offset.x
                    boxes[i].top += offset.y
                    boxes[i].bottom += offset.y
                }
            }
            let detectStart = clock.now
            let wholeLevels = policy.levels(width: image.width, height: image.height, kind: kind)
            // A tracked face is searched for only in its region (a view, no copy), at the one level
            // its size needs. No face there, or one cut by the region's edge (not the image's: a
            // partial detection of a face that moved further), and the whole frame is searched.
            if let tracking, let region = tracking.searchRegion(imageWidth: image.width, imageHeight: image.height) {
                var regionView = sv_dlib_image(
                    pixels: view.pixels + region.top * image.stride + region.left * 3,
                    width: Int32(region.width),
                    height: Int32(region.height),
                    stride: Int32(image.stride)
                )
                try detect(
                    &regionView,
                    levels: [tracking.faceWidth >= 100 ? 0 : 1],
                    offset: (Int32(region.left), Int32(region.top))
                )
                let cut = boxes.prefix(Int(min(found, Int32(capacity)))).contains { box in
                    region.cuts(
                        FaceBox(left: Int(box.left), top: Int(box.top), right: Int(box.right), bottom: Int(box.bottom)),
                        imageWidth: image.width,
                        imageHeight: image.height
                    )
                }
                // The face was this size a frame ago: the whole frame is searched at the same
                // level (a level up finds smaller faces, not turned ones, at 4x the cost).
                if found == 0 || cut { try detect(&view, levels: [level]) }
            } else {
                try detect(&view, levels: wholeLevels)
            }
            // HOG lost a face it had a frame ago (a head turned past ~45 degrees): follow it.
            var tracked = false
            if found == 0, kind == .selfie, let tracking, let template = tracking.template,
                let follow = FaceTrack.follow(template, from: tracking.previous, in: image),
                follow.score >= FaceTrack.minimumScore
            {
                boxes[0] = sv_dlib_box(
                    left: Int32(follow.box.left),
                    top: Int32(follow.box.top),
                    right: Int32(follow.box.right),
                    bottom: Int32(follow.box.bottom),
                    confidence: 0
                )
                found = 1
                tracked = true
            }
            timings.detect += clock.now - detectStart

            let analysed = Int(min(found, Int32(capacity)))
            var faces: [DetectedFace] = []
            let landmarksStart = clock.now
            for box in boxes.prefix(analysed) {
                var raw = box
                var points = [sv_dlib_point](repeating: sv_dlib_point(), count: Int(SV_DLIB_LANDMARKS))
                let status = sv_dlib_landmarks(self.handle, &view, &raw, &points)
                guard status == SV_DLIB_OK else { throw FaceEngineError.from(status) }
                let faceBox = FaceBox(
                    left: Int(box.left),
                    top: Int(box.top),
                    right: Int(box.right),
                    bottom: Int(box.bottom)
                )
                faces.append(
                    DetectedFace(
                        box: faceBox,
                        confidence: box.confidence,
                        landmarks: points.map { FacePoint(x: Double($0.x), y: Double($0.y)) },
                        quality: FaceQuality(widthPixels: faceBox.width, heightPixels: faceBox.height),
                        embedding: nil,
                        tracked: tracked
                    )
                )
            }
            timings.landmarks += clock.now - landmarksStart

            let largest = faces.indices.max(by: { faces[$0].box.area < faces[$1].box.area })
            let embedStart = clock.now
            for index in faces.indices {
                switch embeddings {
                case .none: continue
                case .largestFace where index != largest, .largestFaceDeferred where index != largest: continue
                default: break
                }
                var raw = boxes[index]
                var points = faces[index].landmarks.map {
                    sv_dlib_point(x: Int32($0.x.rounded()), y: Int32($0.y.rounded()))
                }
                var values = [Float](repeating: 0, count: FaceEmbedding.dimension)
                var quality = sv_dlib_chip_quality()
                let status = sv_dlib_embed(self.handle, &view, &raw, &points, &values, &quality)
                guard status == SV_DLIB_OK else { throw FaceEngineError.from(status) }
                guard let embedding = try? FaceEmbedding(values, model: .dlib) else {
                    throw FaceEngineError(.internalError, "the embedding network produced a non-finite value")
                }
                faces[index].embedding = embedding
                faces[index].quality.sharpness = Double(quality.sharpness)
                faces[index].quality.brightness = Double(quality.brightness)
                faces[index].quality.lowerFaceSkin = FaceCover.lowerFaceSkinShare(
                    image,
                    face: faces[index],
                    model: .dlib
                )
            }
            timings.embed += clock.now - embedStart

            return FaceAnalysis(
                model: .dlib,
                imageWidth: image.width,
                imageHeight: image.height,
                detectorInput: level,
                faces: faces,
                facesNotAnalysed: Int(found) - analysed,
                timings: timings
            )
        }
    }

    /// dlib never defers an embedding (`.largestFaceDeferred` embeds at once), so no chip reaches here.
    func embed(chip: ZeroizingBuffer) throws -> FaceEmbedding {
        throw FaceEngineError(.internalError, "dlib embeds at once: there is no deferred chip")
    }
}
