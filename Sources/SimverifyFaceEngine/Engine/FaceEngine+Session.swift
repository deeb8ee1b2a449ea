import Crypto
import SimverifyCore
import SimverifyLiveness

/// What the engine saw in a liveness burst and its ID-card photo.
public struct SessionAnalysis: Sendable {
    /// One result per selfie frame, in order; bad bytes fail only their frame.
    public var frames: [Result<FrameObservation, FaceEngineError>]
    /// The ID-card photo's analysis, when one was given.
    public var reference: Result<FaceAnalysis, FaceEngineError>?
    /// Time per stage, all images.
    public var timings: StageTimings

    /// Creates a session analysis.
    public init(
        frames: [Result<FrameObservation, FaceEngineError>],
        reference: Result<FaceAnalysis, FaceEngineError>?,
        timings: StageTimings = StageTimings()
    ) {
        self.frames = frames
        self.reference = reference
        self.timings = timings
    }
}

extension FaceEngine {
    /// Analyses a liveness burst (and the ID-card photo, when given) as one job on one worker.
    ///
    /// The first and last frames are searched whole; each frame between is searched only around
    /// the face of the frame before (the box grown by 35 % of its size on every side: where a head
    /// moving between frames at a camera's rate can be), at a third of the cost. Where the tracked
    /// region has no face, or one cut by its edge, the whole frame is searched. With dlib, a face
    /// the detector loses after a frame that had it is followed by correlation (`FaceTrack`) and
    /// marked `tracked`.
    ///
    /// With `embeddingFrames`, the embedding network (most of a frame's cost) runs in a second
    /// phase: every frame is detected, aligned and measured, then `embeddingFrames` chooses from
    /// those observations the frames to embed (the ones the decision rests on), and only those are
    /// embedded; the others come back without an embedding. Without it every frame is embedded.
    /// The ID-card photo is always embedded.
    /// - Throws: `FaceEngineError` `.overloaded` or `.shutDown` for the whole job.
    public func analyze(
        session frames: [ZeroizingBuffer],
        reference: ZeroizingBuffer?,
        embeddingFrames: (@Sendable ([FrameObservation]) -> [Int])?
    ) async throws -> SessionAnalysis {
        let decoder = JPEGDecoder(limits: self.configuration.decoding)
        let policy = self.configuration.detection
        return try await self.pool.run { models in
            var timings = StageTimings()
            var previous: (box: FaceBox, template: GreyImage?)?
            var results: [Result<FrameObservation, FaceEngineError>] = []
            var chips: [ZeroizingBuffer?] = []
            for (index, jpeg) in frames.enumerated() {
                let searchWhole = index == 0 || index == frames.count - 1
                let tracking = previous.map { previous in
                    Tracking(previous: previous.box, template: previous.template, regionFirst: !searchWhole)
                }
                var chip: ZeroizingBuffer?
                let result = Self.attempt { () throws -> FrameObservation in
                    let image = try decoder.decode(jpeg, timings: &timings)
                    let analysis = try models.analyze(
                        image,
                        kind: .selfie,
                        policy: policy,
                        embeddings: embeddingFrames == nil ? .largestFace : .largestFaceDeferred,
                        tracking: tracking,
                        timings: &timings
                    )
                    previous = analysis.largestFace.map { ($0.box, models.followingTemplate(image, box: $0.box)) }
                    chip = analysis.deferredChip
                    return Self.observation(analysis, image: image, jpeg: jpeg)
                }
                if case .failure = result { previous = nil }
                results.append(result)
                chips.append(chip)
            }
            // The second phase: embed the frames the burst's decision rests on. A burst with a
            // frame that failed is refused whole, so it is not embedded.
            if let embeddingFrames, let observations = try? results.map({ try $0.get() }) {
                let clock = ContinuousClock()
                let start = clock.now
                for index in Set(embeddingFrames(observations)).sorted()
                where observations.indices.contains(index) && observations[index].face != nil {
                    guard let chip = chips[index] else { continue }
                    results[index] = Self.attempt {
                        var observation = observations[index]
                        observation.face?.embedding = try models.embed(chip: chip)
                        return observation
                    }
                }
                timings.embed += clock.now - start
            }
            chips.removeAll()
            let referenceResult = reference.map { reference in
                Self.attempt {
                    let image = try decoder.decode(reference, timings: &timings)
                    return try models.analyze(
                        image,
                        kind: .idCard,
                        policy: policy,
                        embeddings: .largestFace,
                        tracking: nil,
                        timings: &timings
                    )
                }
            }
            return SessionAnalysis(frames: results, reference: referenceResult, timings: timings)
        }
    }

    /// The liveness view of one frame's analysis.
    static func observation(_ analysis: FaceAnalysis, image: RGBImage, jpeg: ZeroizingBuffer) -> FrameObservation {
        let digest = jpeg.withUnsafeBytes { Array(SHA256.hash(data: $0)) }
        let face = analysis.largestFace.map { face -> FrameObservation.Face in
            let points = face.landmarks.map { Point2(x: $0.x, y: $0.y) }
            let keypoints = FaceKeypoints(model: analysis.model, points: points)
            return FrameObservation.Face(
                width: face.box.width,
                landmarks: points,
                keypoints: keypoints,
                embedding: face.embedding,
                sharpness: face.quality.sharpness ?? 0,
                brightness: face.quality.brightness ?? 0,
                crop: keypoints.flatMap { Self.interiorCrop(image, keypoints: $0) },
                cutByBorder: Self.cutByBorder(face.box, width: image.width, height: image.height),
                lowerFaceSkin: face.quality.lowerFaceSkin,
                screenPattern: ScreenPattern.peakExcess(image, box: face.box),
                tracked: face.tracked
            )
        }
        return FrameObservation(
            faceCount: analysis.faces.count + analysis.facesNotAnalysed,
            face: face,
            thumbnail: Self.thumbnail(image),
            digest: digest,
            secondFaceWidth: analysis.facesNotAnalysed > 0
                ? Int.max : analysis.faces.map(\.box.width).sorted(by: >).dropFirst().first ?? 0
        )
    }

    /// Whether a face box reaches past the image's edge by more than 2 % of its size (a detector's
    /// box of a whole face stays inside by about that much; one past it holds a cut face).
    static func cutByBorder(_ box: FaceBox, width: Int, height: Int) -> Bool {
        let mx = box.width / 50
        let my = box.height / 50
        return box.left < -mx || box.top < -my || box.right > width - 1 + mx || box.bottom > height - 1 + my
    }

    /// The face's interior, grey, 96x96: a square centred between the eyes and the nose,
    /// 1.3 outer-eye-corner distances wide (eyebrows to upper lip, cheek to cheek).
    static func interiorCrop(_ image: RGBImage, keypoints k: FaceKeypoints) -> FaceCrop? {
        let eyeX = (k.eyeOnImageLeft.x + k.eyeOnImageRight.x) / 2
        let eyeY = (k.eyeOnImageLeft.y + k.eyeOnImageRight.y) / 2
        let cx = (eyeX + k.nose.x) / 2
        let cy = (eyeY + k.nose.y) / 2
        let centres =
            ((k.eyeOnImageRight.x - k.eyeOnImageLeft.x) * (k.eyeOnImageRight.x - k.eyeOnImageLeft.x)
            + (k.eyeOnImageRight.y - k.eyeOnImageLeft.y) * (k.eyeOnImageRight.y - k.eyeOnImageLeft.y)).squareRoot()
        let side = 1.3 * k.outerEyeSpan * centres
        guard side >= 8 else { return nil }
        let n = FaceCrop.side
        let scale = side / Double(n)
        let x0 = cx - side / 2
        let y0 = cy - side / 2
        let out = ZeroizingBuffer(count: n * n)
        image.pixels.withUnsafeBytes { rgb in
            out.withUnsafeMutableBytes { grey in
                func luma(_ x: Int, _ y: Int) -> Double {
                    let xi = min(max(x, 0), image.width - 1)
                    let yi = min(max(y, 0), image.height - 1)
                    let o = yi * image.stride + xi * 3
                    return (77 * Double(rgb[o]) + 150 * Double(rgb[o + 1]) + 29 * Double(rgb[o + 2])) / 256
                }
                for v in 0..<n {
                    let sy = y0 + (Double(v) + 0.5) * scale - 0.5
                    let yi = Int(sy.rounded(.down))
                    let fy = sy - Double(yi)
                    for u in 0..<n {
                        let sx = x0 + (Double(u) + 0.5) * scale - 0.5
                        let xi = Int(sx.rounded(.down))
                        let fx = sx - Double(xi)
                        let value =
                            luma(xi, yi) * (1 - fx) * (1 - fy) + luma(xi + 1, yi) * fx * (1 - fy)
                            + luma(xi, yi + 1) * (1 - fx) * fy + luma(xi + 1, yi + 1) * fx * fy
                        grey[v * n + u] = UInt8(min(max(value.rounded(), 0), 255))
                    }
                }
            }
        }
        // Crop pixel centres sit at origin + (u + 0.5) * scale - 0.5.
        return FaceCrop(
            image: GreyImage(width: n, height: n, pixels: out),
            originX: x0 + 0.5 * scale - 0.5,
            originY: y0 + 0.5 * scale - 0.5,
            scale: scale
        )
    }

    /// The whole frame, grey, 32x24, each pixel the mean of its block.
    static func thumbnail(_ image: RGBImage) -> GreyImage {
        let w = 32
        let h = 24
        let out = ZeroizingBuffer(count: w * h)
        image.pixels.withUnsafeBytes { rgb in
            out.withUnsafeMutableBytes { grey in
                for ty in 0..<h {
                    let y0 = ty * image.height / h
                    let y1 = max(y0 + 1, (ty + 1) * image.height / h)
                    for tx in 0..<w {
                        let x0 = tx * image.width / w
                        let x1 = max(x0 + 1, (tx + 1) * image.width / w)
                        var sum = 0
                        for y in y0..<min(y1, image.height) {
                            var o = y * image.stride + x0 * 3
                            for _ in x0..<min(x1, image.width) {
                                sum += 77 * Int(rgb[o]) + 150 * Int(rgb[o + 1]) + 29 * Int(rgb[o + 2])
                                o += 3
                            }
                        }
                        let count = max(1, (min(y1, image.height) - y0) * (min(x1, image.width) - x0))
                        grey[ty * w + tx] = UInt8(min(255, sum / 256 / count))
                    }
                }
            }
        }
        return GreyImage(width: w, height: h, pixels: out)
    }
}
