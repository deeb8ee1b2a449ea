import CSimverifyOpenCV
import SimverifyCore

/// One loaded YuNet detector with its recogniser on OpenCV's dnn, SFace (~40 MB with YuNet) or an
/// operator's network: a worker's own, because an OpenCV network keeps its activations between calls.
final class YuNetModelSet: FaceModelSet {
    let handle: OpaquePointer
    let space: EmbeddingSpace
    var model: FaceModel { self.space.model }

    /// Loads the folded float32 ONNX files of YuNet and SFace. Call `FaceModelFiles.verify(for: .sface)` first.
    /// - Parameter mirror: Sum each feature with its mirrored chip's (test-time augmentation).
    init(files: FaceModelFiles, mirror: Bool = false) throws {
        var handle: OpaquePointer?
        var message = [CChar](repeating: 0, count: 512)
        let status = sv_cv_models_load(
            files.path(of: FaceModelFiles.yunet),
            files.path(of: FaceModelFiles.sface),
            &handle,
            &message,
            Int32(message.count)
        )
        guard status == SV_CV_OK, let handle else {
            throw FaceEngineError(
                modelLoadMessage: message,
                otherwise: "the YuNet and SFace models could not be loaded"
            )
        }
        sv_cv_set_mirror(handle, mirror ? 1 : 0)
        self.handle = handle
        self.space = .sface
    }

    /// Loads YuNet and an operator's recogniser. Call `FaceModelFiles.verify(for: .onnx)` and
    /// `descriptor.verifyFile()` first.
    init(files: FaceModelFiles, descriptor: FaceModelDescriptor) throws {
        var spec = sv_cv_recognizer_spec()
        spec.input_width = Int32(descriptor.input.width)
        spec.input_height = Int32(descriptor.input.height)
        spec.bgr = descriptor.input.colourOrder == "bgr" ? 1 : 0
        spec.mean = (Float(descriptor.input.mean[0]), Float(descriptor.input.mean[1]), Float(descriptor.input.mean[2]))
        spec.scale = (
            Float(descriptor.input.scale[0]), Float(descriptor.input.scale[1]), Float(descriptor.input.scale[2])
        )
        withUnsafeMutableBytes(of: &spec.template_points) { raw in
            let p = raw.bindMemory(to: Float.self)
            for (i, point) in descriptor.alignment.enumerated() {
                p[2 * i] = Float(point[0])
                p[2 * i + 1] = Float(point[1])
            }
        }
        spec.dimension = Int32(descriptor.embedding.size)
        var handle: OpaquePointer?
        var message = [CChar](repeating: 0, count: 512)
        let status = sv_cv_models_load_onnx(
            files.path(of: FaceModelFiles.yunet),
            descriptor.filePath,
            &spec,
            &handle,
            &message,
            Int32(message.count)
        )
        guard status == SV_CV_OK, let handle else {
            throw FaceEngineError(
                modelLoadMessage: message,
                otherwise: "YuNet and the model \(descriptor.name) could not be loaded"
            )
        }
        self.handle = handle
        self.space = descriptor.space
    }

    deinit {
        sv_cv_models_free(self.handle)
    }

    /// Runs YuNet, then the recogniser on the faces `embeddings` selects. Runs on a worker thread.
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
            var view = sv_cv_image(
                pixels: pixels.baseAddress!.assumingMemoryBound(to: UInt8.self),
                width: Int32(image.width),
                height: Int32(image.height),
                stride: Int32(image.stride)
            )
            let capacity = max(1, policy.maxFaces)
            var found = [sv_cv_face](repeating: sv_cv_face(), count: capacity)
            var count: Int32 = 0
            var usedSide = 0
            // The detector's input over the searched pixels (1: at their own size).
            var usedScale = 1.0
            func detect(_ detectView: inout sv_cv_image, sides: [Int], offset: (x: Float, y: Float) = (0, 0)) throws {
                for side in sides {
                    usedSide = side
                    usedScale = min(1, Double(side) / Double(max(detectView.width, detectView.height)))
                    let (w, h) = YuNetModelSet.inputSize(
                        width: Int(detectView.width),
                        height: Int(detectView.height),
                        longSide: side
                    )
                    let status = sv_cv_detect(
                        self.handle,
                        &detectView,
                        Int32(w),
                        Int32(h),
                        Float(policy.minimumDetectionScore),
                        0.3,
                        &found,
                        Int32(capacity),
                        &count
                    )
                    guard status == SV_CV_OK else { throw FaceEngineError.from(status) }
                    if count > 0 { break }
                }
                for i in 0..<Int(min(count, Int32(capacity))) {
                    found[i].x += offset.x
                    found[i].y += offset.y
                    withUnsafeMutableBytes(of: &found[i].points) { raw in
                        let p = raw.bindMemory(to: Float.self)
                        for j in 0..<Int(SV_CV_POINTS) {
                            p[2 * j] += offset.x
                            p[2 * j + 1] += offset.y
                        }
                    }
                }
            }
            let detectStart = clock.now
            let wholeSides = policy.inputSides(kind: kind)
            if let tracking, let region = tracking.searchRegion(imageWidth: image.width, imageHeight: image.height) {
                var regionView = sv_cv_image(
                    pixels: view.pixels + region.top * image.stride + region.left * 3,
                    width: Int32(region.width),
                    height: Int32(region.height),
                    stride: Int32(image.stride)
                )
                // The region is about 1.7 face widths. A face that 320 px of input would shrink
                // below `refineBelowFaceWidth` is searched at the region's own size (up to
                // `maxInputSide`) at once: the pass a refine would make, without the coarse one before it.
                let regionSide = max(region.width, region.height)
                let coarse = min(320, regionSide)
                let side =
                    tracking.faceWidth * coarse / regionSide >= policy.refineBelowFaceWidth
                    ? coarse : min(regionSide, max(coarse, policy.maxInputSide))
                try detect(&regionView, sides: [side], offset: (Float(region.left), Float(region.top)))
                let cut = found.prefix(Int(min(count, Int32(capacity)))).contains { face in
                    region.cuts(
                        FaceBox(
                            left: Int(face.x),
                            top: Int(face.y),
                            right: Int(face.x + face.width),
                            bottom: Int(face.y + face.height)
                        ),
                        imageWidth: image.width,
                        imageHeight: image.height
                    )
                }
                if count == 0 || cut { try detect(&view, sides: wholeSides) }
            } else {
                try detect(&view, sides: wholeSides)
            }
            timings.detect += clock.now - detectStart

            let analysed = Int(min(count, Int32(capacity)))
            let largestFound = found.prefix(analysed).indices.max(by: {
                found[$0].width * found[$0].height < found[$1].width * found[$1].height
            })
            // Five points from a small input are too coarse for SFace's alignment (EER 7.4 % with a
            // 320-px input against 4.2 % at 640 on faces-ea): a face to embed that was small in
            // the detector's input is found again in its own region, at up to its native size.
            let refineStart = clock.now
            for index in found.prefix(analysed).indices {
                switch embeddings {
                case .none: continue
                case .largestFace where index != largestFound, .largestFaceDeferred where index != largestFound:
                    continue
                default: break
                }
                // Found at its own size already: a second pass would see the same pixels.
                guard usedScale < 1,
                    Double(found[index].width) * usedScale < Double(policy.refineBelowFaceWidth)
                else { continue }
                if let refined = try self.refine(found[index], in: view, policy: policy) { found[index] = refined }
            }
            timings.detect += clock.now - refineStart
            var faces: [DetectedFace] = found.prefix(analysed).map { face in
                let box = FaceBox(
                    left: Int(face.x.rounded()),
                    top: Int(face.y.rounded()),
                    right: Int((face.x + face.width).rounded()) - 1,
                    bottom: Int((face.y + face.height).rounded()) - 1
                )
                let points = withUnsafeBytes(of: face.points) { raw in
                    let p = raw.bindMemory(to: Float.self)
                    return (0..<Int(SV_CV_POINTS)).map { FacePoint(x: Double(p[2 * $0]), y: Double(p[2 * $0 + 1])) }
                }
                return DetectedFace(
                    box: box,
                    confidence: Double(face.score),
                    landmarks: points,
                    quality: FaceQuality(widthPixels: box.width, heightPixels: box.height),
                    embedding: nil
                )
            }
            let largest = faces.indices.max(by: { faces[$0].box.area < faces[$1].box.area })
            let embedStart = clock.now
            var deferredChip: ZeroizingBuffer?
            for index in faces.indices {
                switch embeddings {
                case .none: continue
                case .largestFace where index != largest, .largestFaceDeferred where index != largest: continue
                default: break
                }
                var face = found[index]
                var quality = sv_cv_chip_quality()
                if embeddings == .largestFaceDeferred {
                    // Aligned and measured now; the network runs later, if the burst needs this frame.
                    let chip = ZeroizingBuffer(count: Int(sv_cv_chip_bytes(self.handle)))
                    let status = chip.withUnsafeMutableBytes { bytes in
                        sv_cv_align(
                            self.handle,
                            &view,
                            &face,
                            bytes.baseAddress!.assumingMemoryBound(to: UInt8.self),
                            Int32(bytes.count),
                            &quality
                        )
                    }
                    guard status == SV_CV_OK else { throw FaceEngineError.from(status) }
                    deferredChip = chip
                } else {
                    var values = [Float](repeating: 0, count: self.space.dimension)
                    let status = sv_cv_feature(self.handle, &view, &face, &values, Int32(values.count), &quality)
                    guard status == SV_CV_OK else { throw FaceEngineError.from(status) }
                    faces[index].embedding = try self.embedding(values)
                }
                faces[index].quality.sharpness = Double(quality.sharpness)
                faces[index].quality.brightness = Double(quality.brightness)
                faces[index].quality.lowerFaceSkin = FaceCover.lowerFaceSkinShare(
                    image,
                    face: faces[index],
                    model: self.model
                )
            }
            timings.embed += clock.now - embedStart
            var analysis = FaceAnalysis(
                model: self.model,
                imageWidth: image.width,
                imageHeight: image.height,
                detectorInput: usedSide,
                faces: faces,
                facesNotAnalysed: Int(count) - analysed,
                timings: timings
            )
            analysis.deferredChip = deferredChip
            return analysis
        }
    }

    /// The network's pass over a chip `analyze` aligned and deferred.
    func embed(chip: ZeroizingBuffer) throws -> FaceEmbedding {
        var values = [Float](repeating: 0, count: self.space.dimension)
        let status = chip.withUnsafeBytes { bytes in
            sv_cv_feature_of_chip(
                self.handle,
                bytes.baseAddress!.assumingMemoryBound(to: UInt8.self),
                Int32(bytes.count),
                &values,
                Int32(values.count)
            )
        }
        guard status == SV_CV_OK else { throw FaceEngineError.from(status) }
        return try self.embedding(values)
    }

    /// A feature as an embedding of this model's space.
    private func embedding(_ values: [Float]) throws -> FaceEmbedding {
        guard let embedding = try? FaceEmbedding(values, space: self.space) else {
            throw FaceEngineError(.internalError, "the embedding network produced an unusable feature")
        }
        return embedding
    }

    /// The face found again in a region around it (the box grown by 30 % on each side), the
    /// region fed at its own size up to `maxInputSide`; nil when the detector does not find it there.
    private func refine(_ face: sv_cv_face, in view: sv_cv_image, policy: FaceDetectionPolicy) throws -> sv_cv_face? {
        let grow = 0.3
        let left = max(0, Int((Double(face.x) - grow * Double(face.width)).rounded(.down)))
        let top = max(0, Int((Double(face.y) - grow * Double(face.height)).rounded(.down)))
        let right = min(
            Int(view.width) - 1,
            Int((Double(face.x + face.width) + grow * Double(face.width)).rounded(.up))
        )
        let bottom = min(
            Int(view.height) - 1,
            Int((Double(face.y + face.height) + grow * Double(face.height)).rounded(.up))
        )
        guard right - left >= 32, bottom - top >= 32 else { return nil }
        var region = sv_cv_image(
            pixels: view.pixels + top * Int(view.stride) + left * 3,
            width: Int32(right - left + 1),
            height: Int32(bottom - top + 1),
            stride: view.stride
        )
        let (w, h) = Self.inputSize(
            width: right - left + 1,
            height: bottom - top + 1,
            longSide: min(policy.maxInputSide, max(right - left + 1, bottom - top + 1))
        )
        var candidates = [sv_cv_face](repeating: sv_cv_face(), count: 4)
        var count: Int32 = 0
        let status = sv_cv_detect(
            self.handle,
            &region,
            Int32(w),
            Int32(h),
            Float(policy.minimumDetectionScore),
            0.3,
            &candidates,
            4,
            &count
        )
        guard status == SV_CV_OK else { throw FaceEngineError.from(status) }
        // The candidate whose centre is nearest the face's: a neighbour's face may reach into the region.
        let cx = face.x + face.width / 2 - Float(left)
        let cy = face.y + face.height / 2 - Float(top)
        guard
            var best = candidates.prefix(Int(min(count, 4))).min(by: { a, b in
                let da =
                    (a.x + a.width / 2 - cx) * (a.x + a.width / 2 - cx) + (a.y + a.height / 2 - cy)
                    * (a.y + a.height / 2 - cy)
                let db =
                    (b.x + b.width / 2 - cx) * (b.x + b.width / 2 - cx) + (b.y + b.height / 2 - cy)
                    * (b.y + b.height / 2 - cy)
                return da < db
            })
        else { return nil }
        guard abs(best.x + best.width / 2 - cx) < face.width / 2, abs(best.y + best.height / 2 - cy) < face.height / 2
        else { return nil }
        best.x += Float(left)
        best.y += Float(top)
        withUnsafeMutableBytes(of: &best.points) { raw in
            let p = raw.bindMemory(to: Float.self)
            for j in 0..<Int(SV_CV_POINTS) {
                p[2 * j] += Float(left)
                p[2 * j + 1] += Float(top)
            }
        }
        return best
    }

    /// The detector input for an image: its long side scaled to `longSide` (never above
    /// SV_CV_MAX_INPUT), the aspect ratio kept.
    static func inputSize(width: Int, height: Int, longSide: Int) -> (Int, Int) {
        let side = min(longSide, Int(SV_CV_MAX_INPUT))
        let scale = Double(side) / Double(max(width, height))
        return (max(16, Int((Double(width) * scale).rounded())), max(16, Int((Double(height) * scale).rounded())))
    }
}

extension FaceEngineError {
    static func from(_ status: sv_cv_status) -> FaceEngineError {
        switch status {
        case SV_CV_ERR_ARGUMENT: FaceEngineError(.invalidArgument, "invalid argument to the face engine")
        case SV_CV_ERR_MEMORY: FaceEngineError(.internalError, "the face engine ran out of memory")
        case SV_CV_ERR_MODEL: FaceEngineError(.modelUnreadable, "the face model gave outputs of an unexpected shape")
        default: FaceEngineError(.internalError, "the face engine failed")
        }
    }
}
