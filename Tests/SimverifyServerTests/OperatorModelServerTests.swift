import Foundation
import Logging
import SimverifyAudit
import SimverifyClient
import SimverifyCore
import SimverifyFaceEngine
import SimverifyServer
import SimverifyWire
import Testing

/// The server running an operator's recogniser from a descriptor (SFace's own file described as
/// an operator would): decisions, sealed templates and audit records follow the descriptor.
@Suite("An operator's model in the server", .serialized)
struct OperatorModelServerTests {
    static func descriptor(in directory: String) throws -> String {
        let files = FaceModelFiles(directory: FaceModelFiles.defaultDirectory)
        let object: [String: Any] = [
            "name": "sface-as-operator", "file": files.path(of: FaceModelFiles.sface),
            "sha256": FaceModelFiles.sface.sha256,
            "input": ["width": 112, "height": 112, "colourOrder": "rgb", "mean": [0, 0, 0], "scale": [1, 1, 1]],
            "alignment": [
                [38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041],
            ],
            "embedding": ["size": 128, "distance": "cosine"], "threshold": 0.6,
        ]
        let path = directory + "/operator-model.json"
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func decisionsTemplatesAndRecordsFollowTheDescriptor() async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("operator-\(UUID())").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let descriptor = try FaceModelDescriptor.load(from: try Self.descriptor(in: scratch))
        var configuration = FaceEngineConfiguration(model: .onnx, descriptor: descriptor)
        configuration.workers = 1
        let engine = try FaceEngine(configuration: configuration, logger: Logger(label: "test"))
        let server = try await TestServer(engine: engine) {
            $0.engine.model = .onnx
            $0.policy.model = .onnx
            $0.policy.version = "operator-test-1"
        }
        let backend = try await server.client("backend-carrier-a")
        let idCard = try TestJPEG.bytes(Paths.face("obama__2012_official_portrait.jpg"))
        let same = try await backend.verify(
            VerificationRequest(
                idCardImage: idCard,
                selfieFrames: [try TestJPEG.bytes(Paths.face("obama__2009_congress_address.jpg"))],
                consentGiven: true
            )
        )
        #expect(same.decision == .approved && same.policyVersion == "operator-test-1")
        let other = try await backend.verify(
            VerificationRequest(
                idCardImage: idCard,
                selfieFrames: [try TestJPEG.bytes(Paths.face("biden__2010_blue_room.jpg"))],
                consentGiven: true
            )
        )
        #expect(other.decision == .rejected)

        // A template sealed under the operator's model opens under it, not under SFace's.
        let template = try await backend.extractTemplate(idCardImage: idCard)
        let withTemplate = try await backend.verify(
            VerificationRequest(
                idCardImage: nil,
                selfieFrames: [try TestJPEG.bytes(Paths.face("obama__2009_congress_address.jpg"))],
                consentGiven: true,
                sealedTemplate: template.bytes
            )
        )
        #expect(withTemplate.decision == .approved)
        let sealer = TemplateSealer(keys: server.secrets.templateKeys)
        #expect(throws: TemplateSealer.OpenFailure.otherModel) {
            try sealer.open(template.bytes, tenant: "carrier-a", space: .sface)
        }

        // The records name the descriptor: its name, its file's hash and its fingerprint.
        let records = try await server.audit.entries(from: 0, to: 2).map { try AuditRecord(encoded: $0) }
        for record in records {
            #expect(record.modelVersion.contains("onnx:sface-as-operator@"))
            #expect(record.modelVersion.contains(String(descriptor.fingerprint.prefix(16))))
        }
        await backend.close()
        await server.stop()
        await engine.shutdown()
    }

    @Test func templatesOfAnotherDescriptorDoNotOpen() throws {
        let key = try IdentifierKeyring.Key(id: "t1", secret: Array(repeating: 9, count: 32))
        let sealer = TemplateSealer(keys: [key])
        let mine = try EmbeddingSpace.operatorModel(
            dimension: 192,
            metric: .euclidean,
            fingerprint: String(repeating: "a1", count: 32)
        )
        let theirs = try EmbeddingSpace.operatorModel(
            dimension: 192,
            metric: .euclidean,
            fingerprint: String(repeating: "b2", count: 32)
        )
        let embedding = try FaceEmbedding((0..<192).map { Float($0) }, space: mine)
        let sealed = try sealer.seal(embedding, tenant: "carrier-a").sealed
        #expect(sealed.count == 6 + 2 + 8 + 12 + 192 * 4 + 16)
        #expect(try sealer.open(sealed, tenant: "carrier-a", space: mine) == embedding)
        // Another descriptor's fingerprint is in the associated data: it does not authenticate.
        #expect(throws: TemplateSealer.OpenFailure.invalid) {
            try sealer.open(sealed, tenant: "carrier-a", space: theirs)
        }
        // A built-in server cannot read it as its own.
        #expect(throws: TemplateSealer.OpenFailure.otherModel) {
            try sealer.open(sealed, tenant: "carrier-a", space: .sface)
        }
        #expect(throws: TemplateSealer.OpenFailure.otherModel) {
            try sealer.open(sealed, tenant: "carrier-a", space: .dlib)
        }
        // Nor an operator's server a built-in template.
        let sface = try sealer.seal(
            try FaceEmbedding((0..<128).map { Float($0 + 1) }, model: .sface),
            tenant: "carrier-a"
        ).sealed
        #expect(throws: TemplateSealer.OpenFailure.otherModel) {
            try sealer.open(sface, tenant: "carrier-a", space: mine)
        }
    }
}
