import Foundation
import Testing

@testable import SimverifyFaceEngine

@Suite("Model files")
struct FaceModelFilesTests {
    @Test func pinsMatchTheSetupScript() throws {
        let text = try String(contentsOfFile: TestPaths.repository + "/scripts/models.sha256", encoding: .utf8)
        let pins = text.split(separator: "\n").map { line -> FaceModelFiles.Model in
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            return FaceModelFiles.Model(fileName: String(parts[1]), sha256: String(parts[0]))
        }
        #expect(pins == FaceModelFiles.pinned)
    }

    @Test func installedModelsVerify() throws {
        try FaceModelFiles(directory: FaceModelFiles.defaultDirectory).verify()
    }

    @Test func aModelWithOtherBytesIsNamedAsMismatched() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("simverify-models-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let installed = FaceModelFiles(directory: FaceModelFiles.defaultDirectory)
        try FileManager.default.copyItem(
            atPath: installed.path(of: FaceModelFiles.landmarks),
            toPath: directory.path + "/" + FaceModelFiles.landmarks.fileName
        )
        try Data("not a network".utf8).write(to: directory.appendingPathComponent(FaceModelFiles.embedding.fileName))
        do {
            try FaceModelFiles(directory: directory.path).verify()
            Issue.record("a wrong model file verified")
        } catch let error as FaceEngineError {
            #expect(error.code == .modelMismatch)
            #expect(error.message.contains(FaceModelFiles.embedding.fileName))
        }
    }
}
