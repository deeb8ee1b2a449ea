import Logging
import SimverifyCore
import Testing

@testable import SimverifyFaceEngine

@Suite("Face engine")
struct FaceEngineTests {
    func analyze(_ name: String, kind: ImageKind = .selfie) async throws -> FaceAnalysis {
        try await SharedEngine.get().analyze(jpeg: try TestImages.bytes(TestPaths.face(name)), kind: kind)
    }

    func embedding(_ name: String) async throws -> FaceEmbedding {
        let analysis = try await self.analyze(name)
        #expect(analysis.faces.count == 1, "\(name)")
        return try #require(analysis.faces.first?.embedding)
    }

    @Test(arguments: [
        ("london_005__neutral.jpg", "london_005__smiling.jpg", true),
        ("wm_lisa__selfie1.jpg", "wm_lisa__frontal_30cm.jpg", true),
        ("obama__2012_official_portrait.jpg", "obama__2009_congress_address.jpg", true),
        ("obama__2010_blue_room.jpg", "biden__2010_blue_room.jpg", false),
        ("london_001__neutral.jpg", "london_025__neutral.jpg", false),
        ("paul_rudd__1.jpg", "chris_pratt__1.jpg", false),
    ])
    func tellsSameFromDifferentPeople(first: String, second: String, same: Bool) async throws {
        let distance = try await self.embedding(first).distance(to: try await self.embedding(second))
        if same { #expect(distance < 0.5) } else { #expect(distance > 0.7) }
    }

    @Test func reportsFacePositionLandmarksAndQuality() async throws {
        let analysis = try await self.analyze("london_005__neutral.jpg")
        let face = try #require(analysis.faces.first)
        #expect(analysis.imageWidth == 600 && analysis.detectorInput == 0)
        #expect(face.quality.widthPixels == face.box.width && face.box.width > 150)
        #expect(face.landmarks.count == 5)
        for point in face.landmarks {
            #expect(point.x >= Double(face.box.left - 20) && point.x <= Double(face.box.right + 20))
            #expect(point.y >= Double(face.box.top - 20) && point.y <= Double(face.box.bottom + 20))
        }
        // dlib's order: outer then inner corner of the eye on the image's right, then the other eye.
        #expect(face.landmarks[0].x > face.landmarks[1].x && face.landmarks[1].x > face.landmarks[3].x)
        #expect(face.landmarks[3].x > face.landmarks[2].x)
        #expect(face.landmarks[4].y > face.landmarks[0].y)  // nose below the eyes
        let brightness = try #require(face.quality.brightness)
        #expect(brightness > 40 && brightness < 220)
        #expect(try #require(face.quality.sharpness) > 10)
        #expect(analysis.timings.embed > .zero && analysis.timings.decode > .zero)
    }

    @Test func blurAndDarknessShowInTheQuality() async throws {
        let image = try TestImages.decode(TestPaths.face("london_005__neutral.jpg"))
        let engine = try SharedEngine.get()
        let sharp = try #require(try await engine.analyze(image: image, kind: .selfie).faces.first?.quality)
        let darkened = ZeroizingBuffer(count: image.pixels.count)
        image.pixels.withUnsafeBytes { s in
            darkened.withUnsafeMutableBytes { d in for i in 0..<s.count { d[i] = s[i] / 3 } }
        }
        let dark = try #require(
            try await engine.analyze(image: RGBImage(width: 600, height: 600, pixels: darkened), kind: .selfie).faces
                .first?.quality
        )
        let darkBrightness = try #require(dark.brightness)
        let sharpBrightness = try #require(sharp.brightness)
        #expect(darkBrightness < sharpBrightness / 2)
        let blurred = try TestImages.blurred(image, radius: 2)
        let soft = try #require(try await engine.analyze(image: blurred, kind: .selfie).faces.first?.quality)
        let softSharpness = try #require(soft.sharpness)
        let sharpSharpness = try #require(sharp.sharpness)
        #expect(softSharpness < sharpSharpness / 2)
    }

    @Test func reportsZeroFaces() async throws {
        let blank = try TestImages.solid(width: 640, height: 480, value: 128)
        let analysis = try await SharedEngine.get().analyze(image: blank, kind: .selfie)
        #expect(analysis.faces.isEmpty)
        #expect(analysis.detectorInput == 1)  // level 0 found nothing, so level 1 was tried too
        let pixel = try TestImages.solid(width: 1, height: 1, value: 128)
        #expect(try await SharedEngine.get().analyze(image: pixel, kind: .selfie).faces.isEmpty)
    }

    @Test func reportsSeveralFacesWithoutChoosing() async throws {
        let left = try TestImages.decode(TestPaths.face("london_001__neutral.jpg"))
        let right = try TestImages.decode(TestPaths.face("london_025__neutral.jpg"))
        let both = try TestImages.sideBySide(left, right)
        let analysis = try await SharedEngine.get().analyze(image: both, kind: .selfie)
        #expect(analysis.faces.count == 2)
        let embeddings = analysis.faces.compactMap(\.embedding)
        #expect(embeddings.count == 2)
        #expect(embeddings[0].distance(to: embeddings[1]) > 0.6)
        let largestOnly = try await SharedEngine.get().analyze(image: both, kind: .selfie, embeddings: .largestFace)
        #expect(largestOnly.faces.count == 2 && largestOnly.faces.compactMap(\.embedding).count == 1)
    }

    @Test func findsTheSmallFaceOfAnIDCardByUpsampling() async throws {
        let photo = try TestImages.decode(TestPaths.face("london_005__neutral.jpg"))
        let small = try TestImages.shrink(photo, by: 5)  // 120x120, face ~43 px: below HOG's 80 px window
        let engine = try SharedEngine.get()
        var noUpsampling = engine.configuration.detection
        noUpsampling.fixedUpsampling = 0
        #expect(try await engine.analyze(image: small, kind: .idCard, policy: noUpsampling).faces.isEmpty)
        let analysis = try await engine.analyze(image: small, kind: .idCard)
        #expect(analysis.faces.count == 1 && analysis.detectorInput >= 1)
        let full = try #require(try await engine.analyze(image: photo, kind: .selfie).faces.first?.embedding)
        #expect(try #require(analysis.faces.first?.embedding).distance(to: full) < 0.5)
    }

    @Test func upsamplingPolicyFollowsImageKindAndSize() {
        let policy = FaceDetectionPolicy.standard
        #expect(policy.levels(width: 640, height: 480, kind: .selfie) == [0, 1])
        #expect(policy.levels(width: 640, height: 480, kind: .idCard) == [0, 1])
        #expect(policy.levels(width: 640, height: 400, kind: .idCard) == [1])
        #expect(policy.levels(width: 300, height: 200, kind: .idCard) == [1, 2])
        #expect(policy.levels(width: 1600, height: 1200, kind: .selfie) == [0])
        #expect(policy.levels(width: 1600, height: 1200, kind: .idCard) == [0])
        var fixed = policy
        fixed.fixedUpsampling = 1
        #expect(fixed.levels(width: 4000, height: 3000, kind: .selfie) == [1])
    }

    @Test func everyWorkerComputesTheSameEmbedding() async throws {
        let image = try TestImages.decode(TestPaths.face("paul_rudd__2.jpg"))
        let engine = try SharedEngine.get()
        let results = try await withThrowingTaskGroup(of: [Float].self) { group in
            for _ in 0..<6 {
                group.addTask {
                    try #require(try await engine.analyze(image: image, kind: .selfie).faces.first?.embedding?.values)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.count == 6 && Set(results.map { $0 }).count == 1)
    }

    @Test func badBytesGiveTypedErrorsThroughTheEngine() async throws {
        let engine = try SharedEngine.get()
        await #expect(throws: FaceEngineError.self) {
            try await engine.analyze(jpeg: ZeroizingBuffer(count: 0), kind: .selfie)
        }
        let text = Array("not an image".utf8).withUnsafeBytes { ZeroizingBuffer(copying: $0) }
        do {
            _ = try await engine.analyze(jpeg: text, kind: .selfie)
            Issue.record("text bytes were analysed")
        } catch let error as FaceEngineError {
            #expect(error.code == .notJPEG)
        }
    }

    @Test(arguments: [
        (FaceModel.dlib, "shape_predictor_5_face_landmarks.dat"), (.sface, "face_detection_yunet_2023mar_float32.onnx"),
    ])
    func refusesMissingModelsNamingTheFile(model: FaceModel, file: String) throws {
        var configuration = FaceEngineConfiguration(model: model)
        configuration.models = FaceModelFiles(directory: "/nonexistent/simverify-models")
        do {
            _ = try FaceEngine(configuration: configuration, logger: Logger(label: "test"))
            Issue.record("an engine started without models")
        } catch let error as FaceEngineError {
            #expect(error.code == .modelMissing)
            #expect(error.message.contains(file))
        }
    }
}
