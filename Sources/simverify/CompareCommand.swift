import ArgumentParser
import Foundation
import SimverifyCommandSupport
import SimverifyCore
import SimverifyFaceEngine

struct CompareCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare the faces in two JPEG images.",
        discussion: """
            Prints the embedding distance, same or different at the threshold, the faces found in
            each image and the time of each stage. Exit status: 0 when both images hold exactly one
            face, 1 when either holds none or several (the faces found are still printed), 2 on error.
            """
    )

    @Argument(help: "First image (JPEG).") var first: String
    @Argument(help: "Second image (JPEG).") var second: String
    @Option(
        help: "Distance at or below which the faces are the same person (default: the shipped policy's for the model)."
    ) var threshold: Double?
    @Option(help: "Kind of the first image: selfie or id-card.") var firstKind: String = "selfie"
    @Option(help: "Kind of the second image: selfie or id-card.") var secondKind: String = "selfie"
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var engine: EngineOptions

    func run() async throws {
        guard let kindA = ImageKind(rawValue: firstKind), let kindB = ImageKind(rawValue: secondKind) else {
            throw ValidationError("image kinds are selfie or id-card")
        }
        let report: ComparisonReport
        do {
            let faceEngine = try self.engine.makeEngine()
            let bytesA = try ZeroizingBuffer(contentsOfFile: first, maxBytes: engine.maxFileBytes)
            let bytesB = try ZeroizingBuffer(contentsOfFile: second, maxBytes: engine.maxFileBytes)
            async let a = faceEngine.analyze(jpeg: bytesA, kind: kindA)
            async let b = faceEngine.analyze(jpeg: bytesB, kind: kindB)
            report = ComparisonReport(
                first: ImageReport(path: first, analysis: try await a),
                second: ImageReport(path: second, analysis: try await b),
                threshold: threshold ?? faceEngine.suggestedPolicy.threshold
            )
            await faceEngine.shutdown()
        } catch {
            reportAndExit(error)
        }
        if json { printJSON(report) } else { print(report.text) }
        if report.outcome != "same" && report.outcome != "different" { throw ExitCode(1) }
    }
}

/// The faces of one image, for printing.
struct ImageReport: Encodable {
    struct Face: Encodable {
        var box: FaceBox
        var confidence: Double
        var landmarks: [FacePoint]
        var quality: FaceQuality
    }
    struct Timings: Encodable {
        var decodeMs, detectMs, landmarksMs, embedMs, totalMs: Double
    }
    var path: String
    var width: Int
    var height: Int
    var model: FaceModel
    /// dlib: upsampling steps; SFace: YuNet's input long side.
    var detectorInput: Int
    var faces: [Face]
    var timings: Timings
    /// Not encoded: embeddings are never printed.
    var embedding: FaceEmbedding?

    init(path: String, analysis: FaceAnalysis) {
        self.path = path
        self.width = analysis.imageWidth
        self.height = analysis.imageHeight
        self.model = analysis.model
        self.detectorInput = analysis.detectorInput
        self.faces = analysis.faces.map {
            Face(box: $0.box, confidence: $0.confidence, landmarks: $0.landmarks, quality: $0.quality)
        }
        let t = analysis.timings
        self.timings = Timings(
            decodeMs: t.decode.milliseconds,
            detectMs: t.detect.milliseconds,
            landmarksMs: t.landmarks.milliseconds,
            embedMs: t.embed.milliseconds,
            totalMs: t.total.milliseconds
        )
        self.embedding = analysis.faces.count == 1 ? analysis.faces[0].embedding : nil
    }

    enum CodingKeys: String, CodingKey { case path, width, height, model, detectorInput, faces, timings }

    var summary: String {
        let detector = model == .dlib ? "upsampling \(detectorInput)" : "detector input \(detectorInput) px"
        var lines = ["\(path): \(width)x\(height), \(faces.count) face(s), \(model), \(detector)"]
        for (i, face) in faces.enumerated() {
            let q = face.quality
            var line = "  face \(i + 1): box (\(face.box.left),\(face.box.top))-(\(face.box.right),\(face.box.bottom))"
            line += " \(q.widthPixels)x\(q.heightPixels) px, score \(String(format: "%.2f", face.confidence))"
            if let s = q.sharpness, let b = q.brightness {
                line += String(format: ", sharpness %.0f, brightness %.0f", s, b)
            }
            if let skin = q.lowerFaceSkin { line += String(format: ", lower face skin %.2f", skin) }
            lines.append(line)
        }
        lines.append(
            String(
                format: "  time: decode %.1f ms, detect %.1f ms, landmarks %.2f ms, embed %.1f ms",
                timings.decodeMs,
                timings.detectMs,
                timings.landmarksMs,
                timings.embedMs
            )
        )
        return lines.joined(separator: "\n")
    }
}

/// The outcome of a comparison, for printing.
struct ComparisonReport: Encodable {
    var first: ImageReport
    var second: ImageReport
    var threshold: Double
    var distance: Double?
    /// same, different, no-face or several-faces.
    var outcome: String

    init(first: ImageReport, second: ImageReport, threshold: Double) {
        self.first = first
        self.second = second
        self.threshold = threshold
        let counts = [first.faces.count, second.faces.count]
        if let a = first.embedding, let b = second.embedding {
            let d = a.distance(to: b)
            self.distance = d
            self.outcome = d <= threshold ? "same" : "different"
        } else {
            self.distance = nil
            self.outcome = counts.contains(0) ? "no-face" : "several-faces"
        }
    }

    var text: String {
        var lines = [first.summary, second.summary]
        if let distance {
            lines.append(
                String(
                    format: "distance %.4f, threshold %@: %@",
                    distance,
                    MatchPolicy.text(threshold: threshold),
                    outcome == "same" ? "SAME person" : "DIFFERENT people"
                )
            )
        } else {
            lines.append(
                outcome == "no-face"
                    ? "no comparison: an image has no face" : "no comparison: an image has several faces"
            )
        }
        return lines.joined(separator: "\n")
    }
}
