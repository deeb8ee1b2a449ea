import Foundation
import Logging
import SimverifyCore
import SimverifyEnrolment
import SimverifyFaceEngine
import Testing

/// `simverify eval`'s enrolment (a task group feeding the engine's pool, then the pool's shutdown),
/// in process: the path issue 11's crash was on. The sanitizer job runs it under ASan and TSan
/// with one and two workers; `scripts/test.sh` also runs `simverify eval` itself in debug and
/// release.
@Suite struct EnrolmentTests {
    static let pairs = TestPaths.shared + "/fixtures/faces/pairs.tsv"

    @Test(arguments: [1, 2]) func theFixturePairsEnrolWholeAndSeparate(workers: Int) async throws {
        var configuration = FaceEngineConfiguration(model: .sface)
        configuration.workers = workers
        let engine = try FaceEngine(configuration: configuration, logger: Logger(label: "test"))
        let table = try PairsFile(path: Self.pairs)
        let enrolment: Enrolment
        do {
            enrolment = try await Enrolment.run(
                images: table.images,
                root: TestPaths.shared + "/fixtures/faces",
                engine: engine
            )
        } catch {
            await engine.shutdown()
            throw error
        }
        await engine.shutdown()

        #expect(table.images.count == 27)
        #expect(enrolment.embeddings.count == 27)
        #expect(enrolment.noFace.isEmpty && enrolment.unreadable.isEmpty)
        #expect(table.pairs.filter(\.same).count == 39)
        #expect(table.pairs.filter { !$0.same }.count == 312)
        let scored = table.pairs.compactMap { pair -> ScoredPair? in
            guard let a = enrolment.embeddings[pair.a], let b = enrolment.embeddings[pair.b] else { return nil }
            return ScoredPair(distance: a.distance(to: b), genuine: pair.same)
        }
        #expect(scored.count == 351)
        #expect(MatchErrorRates(pairs: scored).equalErrorRate?.rate == 0)
    }

    @Test func aPairsFileWithoutItsColumnsIsRefusedByName() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pairs-\(UUID()).tsv").path
        try Data("left\tright\n1.jpg\t2.jpg\n".utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect {
            try PairsFile(path: path)
        } throws: { error in
            (error as? SimverifyError)?.description.contains("must name the columns imageA, imageB and same") == true
        }
    }
}
