import Crypto
import Foundation
import Logging
import SimverifyCore
import Testing

@testable import SimverifyFaceEngine

/// An operator's own recogniser, run from a model descriptor: the tiny linear network the tests
/// generate (scripts/make-test-onnx.py), and SFace's own file described as an operator would.
@Suite("An operator's model from a descriptor")
struct OperatorModelTests {
    /// A scratch folder with the generated 192-D block-mean network in it.
    final class Scratch: @unchecked Sendable {
        let directory: String
        let network: String
        let networkSHA256: String

        init() throws {
            self.directory = NSTemporaryDirectory() + "simverify-operator-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: self.directory, withIntermediateDirectories: true)
            self.network = self.directory + "/tiny.onnx"
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            process.arguments = [TestPaths.repository + "/scripts/make-test-onnx.py", self.network]
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { throw TestFailure("make-test-onnx.py failed") }
            self.networkSHA256 = Self.sha256(of: self.network)
        }

        deinit { try? FileManager.default.removeItem(atPath: self.directory) }

        static func sha256(of path: String) -> String {
            SHA256.hash(data: FileManager.default.contents(atPath: path) ?? Data()).map { String(format: "%02x", $0) }
                .joined()
        }

        /// Writes a descriptor (fields merged over the tiny network's) and returns its path.
        func descriptor(_ name: String = "tiny", overriding fields: [String: Any] = [:]) throws -> String {
            var object: [String: Any] = [
                "name": "tiny-test", "file": "tiny.onnx", "sha256": self.networkSHA256,
                "input": ["width": 112, "height": 112, "colourOrder": "rgb", "mean": [0, 0, 0], "scale": [1, 1, 1]],
                "alignment": OperatorModelTests.sfaceTemplate,
                "embedding": ["size": 192, "distance": "euclidean"], "threshold": 40,
            ]
            for (key, value) in fields { object[key] = value }
            let path = self.directory + "/\(name).json"
            try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
            return path
        }
    }

    /// SFace's 112x112 template (OpenCV's FaceRecognizerSF::alignCrop).
    static let sfaceTemplate: [[Double]] = [
        [38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041],
    ]

    static func engine(_ descriptorPath: String) throws -> FaceEngine {
        let descriptor = try FaceModelDescriptor.load(from: descriptorPath)
        var configuration = FaceEngineConfiguration(model: .onnx, descriptor: descriptor)
        configuration.workers = 1
        return try FaceEngine(configuration: configuration, logger: Logger(label: "test"))
    }

    static func embedding(_ engine: FaceEngine, _ path: String, kind: ImageKind = .idCard) async throws -> DetectedFace
    {
        let analysis = try await engine.analyze(jpeg: try TestImages.bytes(path), kind: kind, embeddings: .largestFace)
        guard let face = analysis.faces.max(by: { $0.box.area < $1.box.area }), face.embedding != nil else {
            throw TestFailure("no face embedded in \(path)")
        }
        return face
    }

    static let photos = [
        TestPaths.shared + "/fixtures/faces-ea/images/ea_bogeom__1.jpg",
        TestPaths.shared + "/fixtures/faces-ea/images/ea_bogeom__2.jpg",
        TestPaths.face("biden__2010_blue_room.jpg"),
    ]

    @Test func sfaceDescribedAsAnOperatorsModelGivesSFacesOwnFeatures() async throws {
        // SFace's network takes RGB values 0-255 on its 112x112 template: described so, the
        // descriptor path (our own similarity fit, warp and blob) must reproduce the built-in path
        // (FaceRecognizerSF's alignCrop and feature).
        let scratch = try Scratch()
        let files = FaceModelFiles(directory: FaceModelFiles.defaultDirectory)
        let sface = try scratch.descriptor(
            "sface",
            overriding: [
                "name": "sface-as-operator", "file": files.path(of: FaceModelFiles.sface),
                "sha256": FaceModelFiles.sface.sha256,
                "embedding": ["size": 128, "distance": "cosine"], "threshold": 0.6,
            ]
        )
        let operatorEngine = try Self.engine(sface)
        let builtIn = try SharedEngine.get(.sface)
        #expect(
            operatorEngine.space.model == .onnx && operatorEngine.space.dimension == 128
                && operatorEngine.space.metric == .cosine
        )
        var samePerson: [Double] = []
        for photo in Self.photos {
            let ours = try await Self.embedding(operatorEngine, photo)
            let reference = try await Self.embedding(builtIn, photo)
            let a = ours.embedding!
            let b = reference.embedding!
            // Different spaces never match...
            #expect(a.distance(to: b) == .infinity)
            // ...but the values are SFace's.
            let values = try FaceEmbedding(a.values, model: .sface)
            #expect(values.distance(to: b) < 1e-3, "\(photo)")
            // Quality is measured on the same 112-px chip.
            #expect(
                abs((ours.quality.sharpness ?? 0) - (reference.quality.sharpness ?? 1))
                    / (reference.quality.sharpness ?? 1) < 0.05
            )
            samePerson.append(values.distance(to: b))
        }
        // The same person's two photos match under the descriptor's threshold; another's does not.
        let first = try await Self.embedding(operatorEngine, Self.photos[0]).embedding!
        let second = try await Self.embedding(operatorEngine, Self.photos[1]).embedding!
        let other = try await Self.embedding(operatorEngine, Self.photos[2]).embedding!
        #expect(first.distance(to: second) < 0.6)
        #expect(first.distance(to: other) > 0.6)
        #expect(operatorEngine.suggestedPolicy.threshold == 0.6 && operatorEngine.suggestedPolicy.model == .onnx)

        // The wrong colour order, or a template that is off, gives other features.
        let swapped = try Self.engine(
            try scratch.descriptor(
                "sface-bgr",
                overriding: [
                    "name": "sface-bgr", "file": files.path(of: FaceModelFiles.sface),
                    "sha256": FaceModelFiles.sface.sha256,
                    "input": [
                        "width": 112, "height": 112, "colourOrder": "bgr", "mean": [0, 0, 0], "scale": [1, 1, 1],
                    ],
                    "embedding": ["size": 128, "distance": "cosine"], "threshold": 0.6,
                ]
            )
        )
        let reference = try await Self.embedding(builtIn, Self.photos[0]).embedding!
        let bgr = try await Self.embedding(swapped, Self.photos[0]).embedding!
        #expect(try FaceEmbedding(bgr.values, model: .sface).distance(to: reference) > 0.01)
        await operatorEngine.shutdown()
        await swapped.shutdown()
    }

    @Test func colourOrderMeanAndScaleAreAppliedAsDescribed() async throws {
        // The tiny network is linear: its 192 values are the 8x8 block means of each channel. So
        // a mean m and scale s give (v - m) s, and "bgr" swaps the first and last 64 values.
        let scratch = try Scratch()
        let plain = try Self.engine(try scratch.descriptor())
        let normalised = try Self.engine(
            try scratch.descriptor(
                "normalised",
                overriding: [
                    "input": [
                        "width": 112, "height": 112, "colourOrder": "rgb", "mean": [10, 20, 30], "scale": [2, 0.5, -1],
                    ]
                ]
            )
        )
        let bgr = try Self.engine(
            try scratch.descriptor(
                "bgr",
                overriding: [
                    "input": [
                        "width": 112, "height": 112, "colourOrder": "bgr", "mean": [0, 0, 0], "scale": [1, 1, 1],
                    ]
                ]
            )
        )
        for photo in Self.photos {
            let base = try await Self.embedding(plain, photo).embedding!.values
            let n = try await Self.embedding(normalised, photo).embedding!.values
            let b = try await Self.embedding(bgr, photo).embedding!.values
            #expect(base.count == 192 && n.count == 192 && b.count == 192)
            // A face has contrast: the block means are not all alike.
            #expect((base.max() ?? 0) - (base.min() ?? 0) > 30)
            let mean: [Float] = [10, 20, 30]
            let scale: [Float] = [2, 0.5, -1]
            for i in 0..<192 {
                let c = i / 64
                #expect(abs(n[i] - (base[i] - mean[c]) * scale[c]) < 1e-3)
                #expect(abs(b[i] - base[(2 - c) * 64 + i % 64]) < 1e-4)
            }
        }
        await plain.shutdown()
        await normalised.shutdown()
        await bgr.shutdown()
    }

    @Test func theAlignmentTemplatePutsTheFaceWhereTheDescriptorSays() async throws {
        // The same face on the template moved by a whole 14-px block to the right: each block
        // mean must reappear one block to the left (the network sees the face shifted left in
        // the frame: the template's points are where the features land).
        let scratch = try Scratch()
        let plain = try Self.engine(try scratch.descriptor())
        let moved = try Self.engine(
            try scratch.descriptor(
                "moved",
                overriding: [
                    "alignment": Self.sfaceTemplate.map { [$0[0] + 14, $0[1]] }
                ]
            )
        )
        let photo = Self.photos[0]
        let base = try await Self.embedding(plain, photo).embedding!.values
        let shifted = try await Self.embedding(moved, photo).embedding!.values
        var worst: Float = 0
        for c in 0..<3 {
            for row in 0..<8 {
                for column in 0..<7 {
                    worst = max(worst, abs(shifted[c * 64 + row * 8 + column + 1] - base[c * 64 + row * 8 + column]))
                }
            }
        }
        #expect(worst < 1.0)
        // And not by accident: without the shift the blocks differ.
        var unshifted: Float = 0
        for i in 0..<192 { unshifted = max(unshifted, abs(shifted[i] - base[i])) }
        #expect(unshifted > 10)
        await plain.shutdown()
        await moved.shutdown()
    }

    @Test func aDescriptorThatDoesNotFitItsNetworkIsRefusedByName() async throws {
        let scratch = try Scratch()
        func refusal(_ fields: [String: Any], _ name: String) throws -> FaceEngineError? {
            do {
                _ = try Self.engine(try scratch.descriptor(name, overriding: fields))
                return nil
            } catch let error as FaceEngineError {
                return error
            }
        }
        // The network gives 192 values.
        let size = try refusal(["embedding": ["size": 128, "distance": "cosine"]], "size")
        #expect(size?.code == .modelUnreadable)
        #expect(size?.message.contains("gives 192 values but the descriptor says 128") == true)
        // Its input is 112 px square: another input size cannot run.
        let input = try refusal(
            ["input": ["width": 96, "height": 112, "colourOrder": "rgb", "mean": [0, 0, 0], "scale": [1, 1, 1]]],
            "input"
        )
        #expect(input?.code == .modelUnreadable)
        // Another file's hash.
        let hash = try refusal(["sha256": String(repeating: "ab", count: 32)], "hash")
        #expect(hash?.code == .modelMismatch)
        #expect(hash?.message.contains("tiny.onnx") == true)
        // A missing file.
        let missing = try refusal(["file": "nowhere.onnx"], "missing")
        #expect(missing?.code == .modelMissing)
        // Bytes that are not ONNX, with their own hash.
        let junk = scratch.directory + "/junk.onnx"
        try Data(repeating: 0x5A, count: 4096).write(to: URL(fileURLWithPath: junk))
        let notONNX = try refusal(["file": "junk.onnx", "sha256": Scratch.sha256(of: junk)], "junk")
        #expect(notONNX?.code == .modelUnreadable)
        #expect(notONNX?.message.contains("junk.onnx") == true)
        // Fields out of range, each named.
        let cases: [([String: Any], String)] = [
            (
                [
                    "input": [
                        "width": 112, "height": 112, "colourOrder": "rgba", "mean": [0, 0, 0], "scale": [1, 1, 1],
                    ]
                ], "colourOrder"
            ),
            (
                ["input": ["width": 112, "height": 112, "colourOrder": "rgb", "mean": [0, 0], "scale": [1, 1, 1]]],
                "mean"
            ),
            (
                [
                    "input": [
                        "width": 112, "height": 112, "colourOrder": "rgb", "mean": [0, 0, 0], "scale": [1, 0, 1],
                    ]
                ], "scale"
            ),
            (
                ["input": ["width": 4, "height": 112, "colourOrder": "rgb", "mean": [0, 0, 0], "scale": [1, 1, 1]]],
                "width"
            ),
            (["alignment": Array(Self.sfaceTemplate.prefix(4))], "alignment"),
            (["embedding": ["size": 1, "distance": "cosine"]], "embedding.size"),
            (["embedding": ["size": 192, "distance": "manhattan"]], "embedding.distance"),
            (["threshold": -1], "threshold"),
            (["name": "no spaces please"], "name"),
            (["sha256": "abc"], "sha256"),
        ]
        for (fields, field) in cases {
            let error = try refusal(fields, field.replacingOccurrences(of: ".", with: "-"))
            #expect(error?.code == .invalidArgument, "\(field)")
            #expect(error?.message.contains(field) == true, "\(field): \(error?.message ?? "accepted")")
        }
        var withoutThreshold =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: try scratch.descriptor())))
            as! [String: Any]
        withoutThreshold["threshold"] = nil
        let path = scratch.directory + "/no-threshold.json"
        try JSONSerialization.data(withJSONObject: withoutThreshold).write(to: URL(fileURLWithPath: path))
        #expect(throws: FaceEngineError.self) { try FaceModelDescriptor.load(from: path) }
        do {
            _ = try FaceModelDescriptor.load(from: path)
        } catch let error as FaceEngineError {
            #expect(error.message.contains("missing field threshold"))
        }
        // The onnx family without a descriptor.
        var configuration = FaceEngineConfiguration(model: .onnx)
        configuration.workers = 1
        #expect(throws: FaceEngineError.self) {
            try FaceEngine(configuration: configuration, logger: Logger(label: "test"))
        }
    }

    @Test func theModelVersionAndSpaceNameTheDescriptor() async throws {
        let scratch = try Scratch()
        let first = try FaceModelDescriptor.load(from: try scratch.descriptor())
        let second = try FaceModelDescriptor.load(
            from: try scratch.descriptor(
                "other",
                overriding: ["alignment": Self.sfaceTemplate.map { [$0[0] + 1, $0[1]] }]
            )
        )
        // Another template makes other embeddings: another fingerprint, another space.
        #expect(first.fingerprint != second.fingerprint)
        #expect(first.space != second.space)
        // The same descriptor written again with other whitespace is the same model.
        let reformatted = scratch.directory + "/reformatted.json"
        let object = try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: try scratch.descriptor()))
        )
        try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted]).write(
            to: URL(fileURLWithPath: reformatted)
        )
        #expect(try FaceModelDescriptor.load(from: reformatted).fingerprint == first.fingerprint)
        let version = FaceModelFiles.version(of: .onnx, descriptor: first)
        #expect(version.hasPrefix("opencv-4.6/yunet-2023mar+onnx:tiny-test@"))
        #expect(version.contains(String(scratch.networkSHA256.prefix(16))))
        #expect(version.contains(String(first.fingerprint.prefix(16))))
        // Embeddings of the two are never compared.
        let a = try FaceEmbedding([Float](repeating: 1, count: 192), space: first.space)
        let b = try FaceEmbedding([Float](repeating: 1, count: 192), space: second.space)
        #expect(a.distance(to: b) == .infinity)
        #expect(a.distance(to: a) == 0)
        #expect(throws: SimverifyError.self) {
            try FaceEmbedding([Float](repeating: 1, count: 128), space: first.space)
        }
        #expect(throws: SimverifyError.self) { try FaceEmbedding([Float](repeating: 1, count: 192), model: .onnx) }
    }
}

@Suite("Test-time augmentation")
struct MirrorAugmentationTests {
    @Test func theMirroredChipIsAveragedIn() async throws {
        var configuration = FaceEngineConfiguration(model: .sface)
        configuration.workers = 1
        configuration.mirrorAugmentation = true
        let mirrored = try FaceEngine(configuration: configuration, logger: Logger(label: "test"))
        let plain = try SharedEngine.get(.sface)
        let a = try await OperatorModelTests.embedding(mirrored, OperatorModelTests.photos[0]).embedding!
        let b = try await OperatorModelTests.embedding(mirrored, OperatorModelTests.photos[1]).embedding!
        let other = try await OperatorModelTests.embedding(mirrored, OperatorModelTests.photos[2]).embedding!
        let single = try await OperatorModelTests.embedding(plain, OperatorModelTests.photos[0]).embedding!
        // Another feature (the mirror's half), close to the plain one, in the same space.
        let shift = a.distance(to: single)
        #expect(shift > 1e-4 && shift < 0.2, "\(shift)")
        #expect(a.distance(to: b) < 0.6 && a.distance(to: other) > 0.6)
        await mirrored.shutdown()
    }

    /// dlib's jitters (face_recognition's num_jitters): the mean over jittered chips, another
    /// embedding close to the plain one, the same on every run, still telling people apart.
    @Test func dlibsJitteredChipsAreAveraged() async throws {
        var configuration = FaceEngineConfiguration(model: .dlib)
        configuration.workers = 1
        configuration.jitters = 5
        let jittered = try FaceEngine(configuration: configuration, logger: Logger(label: "test"))
        let plain = try SharedEngine.get(.dlib)
        let a = try await OperatorModelTests.embedding(jittered, OperatorModelTests.photos[0]).embedding!
        let again = try await OperatorModelTests.embedding(jittered, OperatorModelTests.photos[0]).embedding!
        let b = try await OperatorModelTests.embedding(jittered, OperatorModelTests.photos[1]).embedding!
        let other = try await OperatorModelTests.embedding(jittered, OperatorModelTests.photos[2]).embedding!
        let single = try await OperatorModelTests.embedding(plain, OperatorModelTests.photos[0]).embedding!
        let shift = a.distance(to: single)
        #expect(shift > 1e-4 && shift < 0.2, "\(shift)")
        #expect(a.distance(to: again) == 0, "a fixed seed per face: reproducible")
        #expect(a.distance(to: b) < 0.6 && a.distance(to: other) > 0.6)
        await jittered.shutdown()
    }
}
