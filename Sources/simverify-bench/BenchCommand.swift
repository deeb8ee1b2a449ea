import ArgumentParser
import Foundation
import Logging
import SimverifyCommandSupport
import SimverifyCore
import SimverifyFaceEngine

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract: "Benchmark the face engine, and face_recognition on the same images.",
        discussion: """
            Prints per-stage medians, the 640x480 selfie pipeline median, embeddings per second with
            one and with N workers, resident memory per worker and peak RSS; with --python, the same
            images through Python face_recognition in the same run, and the ratios. Run it from a
            release build: scripts/bench.sh does.
            """
    )

    @Option(help: "Directory of JPEG photos to time.") var images: String
    @Option(help: "Directory of 640x480 selfie frames for the end-to-end figure.") var selfies: String?
    @Option(help: "Python with face_recognition installed (scripts/python-env.sh prints one).") var python: String?
    @Option(help: "The Python side of the comparison (run from the repository's root, the default is right).")
    var pythonScript: String = "scripts/bench-python.py"
    @Option(help: "Timed rounds over the photos.") var rounds: Int = 3
    @Option(help: "Analyses per throughput run.") var jobs: Int = 120
    @Option(help: "Workers for the multi-worker throughput run (default: the number of cores).") var workers: Int?
    @Option(help: "Face model: sface (the default) or dlib.") var model: FaceModel = .sface
    @Option(help: "Directory of the model files.") var models: String?
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        do {
            let report = try await self.measure()
            if json { printJSON(report) } else { print(report.text) }
        } catch {
            reportAndExit(error)
        }
    }

    private func configuration(workers: Int) -> FaceEngineConfiguration {
        var configuration = FaceEngineConfiguration(model: self.model)
        if let models { configuration.models = FaceModelFiles(directory: models) }
        configuration.workers = workers
        configuration.maxQueuedJobs = 4 * workers
        return configuration
    }

    private static func jpegs(in directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { $0.lowercased().hasSuffix(".jpg") || $0.lowercased().hasSuffix(".jpeg") }
            .sorted().map { directory + "/" + $0 }
    }

    private func measure() async throws -> BenchReport {
        let logger = Logger(label: "bench")
        let photos = try Self.jpegs(in: images)
        let photoBytes = try photos.map { try ZeroizingBuffer(contentsOfFile: $0, maxBytes: 64 << 20) }
        var report = BenchReport(photos: photos.count, rounds: rounds)
        report.model = self.model
        let multi = workers ?? ProcessInfo.processInfo.activeProcessorCount
        report.workers = multi

        let baseRSS = ProcessMemory.residentBytes()
        let single = try FaceEngine(configuration: configuration(workers: 1), logger: logger)
        // Stages, one worker, photos in sequence: detection at the adaptive policy.
        var decode: [Double] = []
        var detect: [Double] = []
        var landmarks: [Double] = []
        var embed: [Double] = []
        var perImage: [Double] = []
        var perImageSameSteps: [Double] = []
        var facesAdaptive = 0
        var facesSameSteps = 0
        var sameSteps = single.configuration.detection
        sameSteps.fixedUpsampling = 1
        for round in 0...rounds {
            for bytes in photoBytes {
                let a = try await single.analyze(jpeg: bytes, kind: .selfie, embeddings: .allFaces)
                let image = try JPEGDecoder().decode(bytes)
                let clock = ContinuousClock()
                let start = clock.now
                let b = try await single.analyze(image: image, kind: .selfie, policy: sameSteps, embeddings: .allFaces)
                let sameStepsTime = (clock.now - start).milliseconds + a.timings.decode.milliseconds
                if round == 0 {  // warm-up round: count faces only
                    facesAdaptive += a.faces.count
                    facesSameSteps += b.faces.count
                }
                guard round > 0, !a.faces.isEmpty else { continue }
                decode.append(a.timings.decode.milliseconds)
                detect.append(a.timings.detect.milliseconds)
                landmarks.append(a.timings.landmarks.milliseconds / Double(a.faces.count))
                embed.append(a.timings.embed.milliseconds / Double(a.faces.count))
                perImage.append(a.timings.total.milliseconds)
                if !b.faces.isEmpty { perImageSameSteps.append(sameStepsTime) }
            }
        }
        report.medianDecodeMs = median(decode)
        report.medianDetectMs = median(detect)
        report.medianLandmarksMs = median(landmarks)
        report.medianEmbedMs = median(embed)
        report.medianPerImageMs = median(perImage)
        report.medianPerImageSameStepsMs = median(perImageSameSteps)
        report.facesFoundAdaptive = facesAdaptive
        report.facesFoundSameSteps = facesSameSteps

        if let selfies {
            let frames = try Self.jpegs(in: selfies).map { try ZeroizingBuffer(contentsOfFile: $0, maxBytes: 64 << 20) }
            var totals: [Double] = []
            for round in 0...rounds {
                for frame in frames {
                    let a = try await single.analyze(jpeg: frame, kind: .selfie, embeddings: .largestFace)
                    if round > 0 && !a.faces.isEmpty { totals.append(a.timings.total.milliseconds) }
                }
            }
            report.selfieFrames = frames.count
            report.medianSelfieMs = median(totals)
        }

        report.embeddingsPerSecondOneWorker = try await throughput(single, photoBytes)
        report.residentMBPerWorker = Double(ProcessMemory.residentBytes() - baseRSS) / 1_048_576
        await single.shutdown()

        if multi > 1 {
            let many = try FaceEngine(configuration: configuration(workers: multi), logger: logger)
            report.embeddingsPerSecondNWorkers = try await throughput(many, photoBytes)
            await many.shutdown()
        } else {
            report.embeddingsPerSecondNWorkers = report.embeddingsPerSecondOneWorker
        }
        report.peakRSSMB = Double(ProcessMemory.peakResidentBytes()) / 1_048_576

        if let python {
            report.python = try PythonBaseline.run(python: python, script: pythonScript, rounds: rounds, images: photos)
        }
        return report
    }

    /// Embeddings a second over `jobs` analyses with the engine's workers kept busy.
    private func throughput(_ engine: FaceEngine, _ photos: [ZeroizingBuffer]) async throws -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        let window = engine.workerCount * 2
        let embedded = try await withThrowingTaskGroup(of: Int.self) { group in
            var submitted = 0
            var total = 0
            func submit() {
                guard submitted < jobs else { return }
                let bytes = photos[submitted % photos.count]
                submitted += 1
                group.addTask {
                    try await engine.analyze(jpeg: bytes, kind: .selfie, embeddings: .allFaces).faces.count
                }
            }
            for _ in 0..<window { submit() }
            while let faces = try await group.next() {
                total += faces
                submit()
            }
            return total
        }
        let seconds = (clock.now - start).milliseconds / 1000
        return Double(embedded) / seconds
    }
}

/// face_recognition timed by scripts/bench-python.py.
struct PythonBaseline: Codable {
    var images: Int
    var faces: Int
    var median_ms_per_image: Double
    var median_ms_per_embedding: Double

    static func run(python: String, script: String, rounds: Int, images: [String]) throws -> PythonBaseline {
        guard FileManager.default.fileExists(atPath: script) else {
            throw SimverifyError(.fileUnreadable, "\(script): no such file (give --python-script)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script, String(rounds)] + images
        var environment = ProcessInfo.processInfo.environment
        environment["OPENBLAS_NUM_THREADS"] = "1"
        environment["OMP_NUM_THREADS"] = "1"
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw SimverifyError(.invalidArgument, "the Python baseline failed (exit \(process.terminationStatus))")
        }
        return try JSONDecoder().decode(PythonBaseline.self, from: data)
    }
}

/// Everything `bench` prints.
struct BenchReport: Encodable {
    var model: FaceModel = .sface
    var photos: Int
    var rounds: Int
    var workers = 1
    var medianDecodeMs: Double?
    var medianDetectMs: Double?
    var medianLandmarksMs: Double?
    var medianEmbedMs: Double?
    var medianPerImageMs: Double?
    var medianPerImageSameStepsMs: Double?
    var facesFoundAdaptive = 0
    var facesFoundSameSteps = 0
    var selfieFrames = 0
    var medianSelfieMs: Double?
    var embeddingsPerSecondOneWorker = 0.0
    var embeddingsPerSecondNWorkers = 0.0
    var residentMBPerWorker = 0.0
    var peakRSSMB = 0.0
    var python: PythonBaseline?

    var workerScaling: Double { embeddingsPerSecondNWorkers / max(embeddingsPerSecondOneWorker, 1e-9) }
    /// face_recognition's default pipeline against the engine's default pipeline, per photo.
    var speedupPerImage: Double? { python.flatMap { p in medianPerImageMs.map { p.median_ms_per_image / $0 } } }
    /// The same, with the engine forced to face_recognition's steps (one upsampling for every photo).
    var speedupPerImageSameSteps: Double? {
        python.flatMap { p in medianPerImageSameStepsMs.map { p.median_ms_per_image / $0 } }
    }
    var speedupPerEmbedding: Double? { python.flatMap { p in medianEmbedMs.map { p.median_ms_per_embedding / $0 } } }

    enum CodingKeys: String, CodingKey {
        case photos, rounds, workers, medianDecodeMs, medianDetectMs, medianLandmarksMs, medianEmbedMs, medianPerImageMs
        case medianPerImageSameStepsMs, selfieFrames, medianSelfieMs, embeddingsPerSecondOneWorker
        case embeddingsPerSecondNWorkers, residentMBPerWorker, peakRSSMB, python, workerScaling, speedupPerImage
        case speedupPerEmbedding, speedupPerImageSameSteps, facesFoundAdaptive, facesFoundSameSteps
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(photos, forKey: .photos)
        try c.encode(rounds, forKey: .rounds)
        try c.encode(workers, forKey: .workers)
        try c.encodeIfPresent(medianDecodeMs, forKey: .medianDecodeMs)
        try c.encodeIfPresent(medianDetectMs, forKey: .medianDetectMs)
        try c.encodeIfPresent(medianLandmarksMs, forKey: .medianLandmarksMs)
        try c.encodeIfPresent(medianEmbedMs, forKey: .medianEmbedMs)
        try c.encodeIfPresent(medianPerImageMs, forKey: .medianPerImageMs)
        try c.encodeIfPresent(medianPerImageSameStepsMs, forKey: .medianPerImageSameStepsMs)
        try c.encode(selfieFrames, forKey: .selfieFrames)
        try c.encodeIfPresent(medianSelfieMs, forKey: .medianSelfieMs)
        try c.encode(embeddingsPerSecondOneWorker, forKey: .embeddingsPerSecondOneWorker)
        try c.encode(embeddingsPerSecondNWorkers, forKey: .embeddingsPerSecondNWorkers)
        try c.encode(residentMBPerWorker, forKey: .residentMBPerWorker)
        try c.encode(peakRSSMB, forKey: .peakRSSMB)
        try c.encodeIfPresent(python, forKey: .python)
        try c.encode(workerScaling, forKey: .workerScaling)
        try c.encodeIfPresent(speedupPerImage, forKey: .speedupPerImage)
        try c.encodeIfPresent(speedupPerEmbedding, forKey: .speedupPerEmbedding)
        try c.encodeIfPresent(speedupPerImageSameSteps, forKey: .speedupPerImageSameSteps)
        try c.encode(facesFoundAdaptive, forKey: .facesFoundAdaptive)
        try c.encode(facesFoundSameSteps, forKey: .facesFoundSameSteps)
    }

    var text: String {
        func f(_ v: Double?, _ d: Int = 1) -> String { v.map { String(format: "%.\(d)f", $0) } ?? "n/a" }
        func mark(_ ok: Bool?) -> String { ok.map { $0 ? "ok" : "MISSED" } ?? "" }
        let dlib = model == .dlib
        var lines = ["model: \(model); photos: \(photos), timed rounds: \(rounds), one worker unless stated"]
        lines.append("median decode     \(f(medianDecodeMs)) ms")
        lines.append(
            "median detect     \(f(medianDetectMs)) ms "
                + (dlib ? "(adaptive upsampling)" : "(YuNet at 320 px, then the face's region for precise points)")
        )
        if dlib { lines.append("median landmarks  \(f(medianLandmarksMs, 2)) ms per face") }
        lines.append(
            "median embed      \(f(medianEmbedMs)) ms per face"
                + (dlib
                    ? "   target <= 20 ms  \(mark(medianEmbedMs.map { $0 <= 20 }))" : " (alignment and SFace feature)")
        )
        if dlib {
            lines.append(
                "median per photo  \(f(medianPerImageMs)) ms adaptive (\(facesFoundAdaptive) faces found), \(f(medianPerImageSameStepsMs)) ms with face_recognition's steps, 1 upsampling (\(facesFoundSameSteps) faces)"
            )
        } else {
            lines.append("median per photo  \(f(medianPerImageMs)) ms (\(facesFoundAdaptive) faces found)")
        }
        if selfieFrames > 0 {
            let target = dlib ? 60.0 : 70.0
            lines.append(
                "640x480 selfie    \(f(medianSelfieMs)) ms median over \(selfieFrames) frames (decode+detect+embed)   target <= \(Int(target)) ms  \(mark(medianSelfieMs.map { $0 <= target }))"
            )
        }
        lines.append(
            "throughput        \(f(embeddingsPerSecondOneWorker)) embeddings/s with 1 worker, \(f(embeddingsPerSecondNWorkers)) with \(workers): \(f(workerScaling, 2))x   target >= 1.8x  \(mark(workers > 1 ? workerScaling >= 1.8 : nil))"
        )
        lines.append(
            "memory            \(f(residentMBPerWorker)) MB resident for one worker (after warm-up), peak RSS \(f(peakRSSMB)) MB   target <= 100 MB/worker  \(mark(residentMBPerWorker <= 100))"
        )
        if let python {
            lines.append(
                "face_recognition  \(f(python.median_ms_per_image)) ms per photo, \(f(python.median_ms_per_embedding)) ms per embedding (\(python.faces) faces, same photos, same run)"
            )
            lines.append(
                "speed-up          \(f(speedupPerImage, 2))x per photo, engine defaults against face_recognition defaults   target >= 3x  \(mark(speedupPerImage.map { $0 >= 3 }))"
            )
            if dlib {
                lines.append(
                    "                  \(f(speedupPerImageSameSteps, 2))x per photo with the same steps (1 upsampling: the same dlib HOG code dominates both)"
                )
            }
            lines.append(
                "                  \(f(speedupPerEmbedding, 2))x per embedding (faces given)   target >= 3x  \(mark(speedupPerEmbedding.map { $0 >= 3 }))"
            )
        } else {
            lines.append("face_recognition  not run (pass --python; scripts/bench.sh does)")
        }
        return lines.joined(separator: "\n")
    }
}
