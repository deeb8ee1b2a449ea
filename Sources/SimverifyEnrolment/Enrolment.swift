import Foundation
import SimverifyCore
import SimverifyFaceEngine

/// Labelled image pairs and their enrolment on a running engine: what `simverify eval`,
/// `calibrate` and `assess` measure with, and what the sanitizer job runs under ASan and TSan
/// (the engine's pool fed by a task group, one and two workers) without the server linked.

/// A pairs file: imageA, imageB, same.
public struct PairsFile: Sendable {
    public struct Pair: Sendable {
        public var a: String
        public var b: String
        public var same: Bool
    }
    public var pairs: [Pair]
    /// Every image the pairs name, once each, sorted.
    public var images: [String] { Array(Set(pairs.flatMap { [$0.a, $0.b] })).sorted() }

    /// The kind each image is analysed as: with `firstKind` other than selfie, the images of
    /// column imageA are that kind (an ID card's portrait), and no image may be in both columns.
    public func kinds(firstKind: ImageKind, path: String) throws -> [String: ImageKind] {
        guard firstKind != .selfie else { return [:] }
        let first = Set(self.pairs.map(\.a))
        if let both = self.pairs.first(where: { first.contains($0.b) }) {
            throw SimverifyError(
                .invalidArgument,
                "\(path): with --first-kind \(firstKind.rawValue), \(both.b) cannot be in both columns"
            )
        }
        return Dictionary(uniqueKeysWithValues: first.map { ($0, firstKind) })
    }

    /// Reads a pairs file (tab-separated, with a header naming imageA, imageB and same).
    public init(path: String) throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var lines = text.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.isEmpty }
        guard let header = lines.first?.split(separator: "\t").map(String.init),
            let ia = header.firstIndex(of: "imageA"), let ib = header.firstIndex(of: "imageB"),
            let isame = header.firstIndex(of: "same")
        else {
            throw SimverifyError(.invalidArgument, "\(path): the header must name the columns imageA, imageB and same")
        }
        lines.removeFirst()
        self.pairs = try lines.enumerated().map { number, line in
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count > max(ia, ib, isame), ["0", "1"].contains(fields[isame]) else {
                throw SimverifyError(
                    .invalidArgument,
                    "\(path):\(number + 2): expected imageA, imageB and same (0 or 1)"
                )
            }
            return Pair(a: fields[ia], b: fields[ib], same: fields[isame] == "1")
        }
    }
}

/// The embedding of the largest face of every image, with failures to enrol.
public struct Enrolment: Sendable {
    /// An empty enrolment.
    public init() {}

    public var embeddings: [String: FaceEmbedding] = [:]
    public var noFace: [String] = []
    public var severalFaces: [String] = []
    public var unreadable: [String: String] = [:]
    /// The box widths of every face found in each image.
    public var faceWidths: [String: [Int]] = [:]

    /// The face widths of each of `images` that was analysed (each image once).
    public func faceWidths(of images: [String]) -> [[Int]] {
        Set(images).sorted().compactMap { self.faceWidths[$0] }
    }

    /// One image's analysis, as a child task's result: a reference, not a large value (see `run`).
    final class Outcome: Sendable {
        let name: String
        let result: Result<FaceAnalysis, Error>
        init(name: String, result: Result<FaceAnalysis, Error>) {
            self.name = name
            self.result = result
        }
    }

    /// One pairs file's enrolment on a running engine.
    public static func run(
        pairs: String,
        root: String?,
        engine: FaceEngine,
        firstKind: ImageKind = .selfie
    ) async throws -> (PairsFile, Enrolment) {
        let table = try PairsFile(path: pairs)
        let base = root ?? URL(fileURLWithPath: pairs).deletingLastPathComponent().path
        return (
            table,
            try await Enrolment.run(
                images: table.images,
                root: base,
                engine: engine,
                kinds: table.kinds(firstKind: firstKind, path: pairs)
            )
        )
    }

    /// The part of this enrolment that concerns `images` (one enrolment can serve several pairs
    /// files over the same folder, each image analysed once).
    public func restricted(to images: [String]) -> Enrolment {
        let keep = Set(images)
        var part = Enrolment()
        part.embeddings = self.embeddings.filter { keep.contains($0.key) }
        part.noFace = self.noFace.filter(keep.contains)
        part.severalFaces = self.severalFaces.filter(keep.contains)
        part.unreadable = self.unreadable.filter { keep.contains($0.key) }
        part.faceWidths = self.faceWidths.filter { keep.contains($0.key) }
        return part
    }

    public static func run(
        images: [String],
        root: String,
        engine: FaceEngine,
        kinds: [String: ImageKind] = [:]
    ) async throws -> Enrolment {
        // At most `window` images in flight. Child tasks return a class reference: returning the
        // tuple (String, Result<FaceAnalysis, any Error>) by value from the group's children
        // crashed release builds (Swift 6.3, -O): with two workers a bad pointer in the runtime's
        // TaskGroup offer, under ASan a corrupt String, with one worker a group that reported no
        // results at all. Debug builds and ASan found nothing in our code; see docs/DECISIONS.md.
        let window = max(1, engine.workerCount * 2)
        let outcomes = try await withThrowingTaskGroup(of: Outcome.self, returning: [Outcome].self) { group in
            var outcomes: [Outcome] = []
            var pending = images[...]
            var running = 0
            while true {
                while running < window, let name = pending.popFirst() {
                    let bytes = try ZeroizingBuffer(contentsOfFile: root + "/" + name, maxBytes: 64 << 20)
                    let kind = kinds[name] ?? .selfie
                    group.addTask {
                        do {
                            return Outcome(
                                name: name,
                                result: .success(
                                    try await engine.analyze(jpeg: bytes, kind: kind, embeddings: .largestFace)
                                )
                            )
                        } catch {
                            return Outcome(name: name, result: .failure(error))
                        }
                    }
                    running += 1
                }
                guard let outcome = try await group.next() else { break }
                running -= 1
                outcomes.append(outcome)
            }
            return outcomes
        }
        var result = Enrolment()
        for outcome in outcomes {
            switch outcome.result {
            case .success(let analysis):
                if let embedding = analysis.largestFace?.embedding {
                    result.embeddings[outcome.name] = embedding
                } else {
                    result.noFace.append(outcome.name)
                }
                if analysis.faces.count > 1 { result.severalFaces.append(outcome.name) }
                result.faceWidths[outcome.name] = analysis.faces.map(\.box.width)
            case .failure(let error):
                result.unreadable[outcome.name] = (error as? FaceEngineError)?.description ?? "\(error)"
            }
        }
        result.noFace.sort()
        result.severalFaces.sort()
        guard result.embeddings.count + result.noFace.count + result.unreadable.count == images.count else {
            throw SimverifyError(
                .invalidArgument,
                "enrolment lost images: \(images.count) read, \(outcomes.count) analysed"
            )
        }
        return result
    }
}
