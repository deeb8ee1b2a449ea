import Foundation
import SimverifyAudit
import SimverifyClient
import SimverifyCore
import SimverifyServer
import SimverifyWire
import Testing

@Suite("Sealed templates", .serialized)
struct SealedTemplateTests {
    @Test func aBackendVerifiesASelfieAgainstItsSealedTemplate() async throws {
        let server = try await TestServer()
        let backend = try await server.client("backend-carrier-a")
        let template = try await backend.extractTemplate(
            idCardImage: try TestJPEG.bytes(Paths.face("obama__2012_official_portrait.jpg"))
        )
        #expect(template.bytes.count > 512 && template.expiresAt > Int64(Date().timeIntervalSince1970))
        let same = try await backend.verify(
            VerificationRequest(
                idCardImage: nil,
                selfieFrames: [try TestJPEG.bytes(Paths.face("obama__2009_congress_address.jpg"))],
                consentGiven: true,
                sealedTemplate: template.bytes
            )
        )
        #expect(same.decision == .approved && (same.distance ?? 1) < 0.6)
        let other = try await backend.verify(
            VerificationRequest(
                idCardImage: nil,
                selfieFrames: [try TestJPEG.bytes(Paths.face("biden__2010_blue_room.jpg"))],
                consentGiven: true,
                sealedTemplate: template.bytes
            )
        )
        #expect(other.decision == .rejected)

        // Both the extraction and the verification are in the log, with the template's digest.
        let records = try await server.audit.entries(from: 0, to: 2).map { try AuditRecord(encoded: $0) }
        #expect(records[0].event == .extractTemplate && records[0].detail.hasPrefix("sealed:"))
        #expect(records[1].images.map(\.kind) == [.sealedTemplate, .selfieFrame])

        // Another tenant's backend, a changed byte, or both an image and a template: refused.
        let tenantB = try server.pki.write(
            try server.pki.trusted.issueClient(try CallerIdentity(tenant: "carrier-b", role: .backend)),
            as: "backend-carrier-b"
        )
        let backendB = try await server.connect(tenantB)
        var tampered = template.bytes
        tampered[tampered.count - 20] ^= 1
        let selfie = try TestJPEG.bytes(Paths.face("obama__2009_congress_address.jpg"))
        for (client, bytes) in [
            (backendB, template.bytes), (backend, tampered), (backend, Array(template.bytes.prefix(40))),
        ] {
            do {
                _ = try await client.verify(
                    VerificationRequest(
                        idCardImage: nil,
                        selfieFrames: [selfie],
                        consentGiven: true,
                        sealedTemplate: bytes
                    )
                )
                Issue.record("an invalid template was accepted")
            } catch {
                let status = error
                #expect(status.code == .invalidArgument && status.reason == "template_invalid")
            }
        }
        await #expect(throws: SimverifyClientError.self) {
            _ = try await backend.verify(
                VerificationRequest(
                    idCardImage: selfie,
                    selfieFrames: [selfie],
                    consentGiven: true,
                    sealedTemplate: template.bytes
                )
            )
        }
        // An ID card without a usable face gets no template.
        do {
            _ = try await backend.extractTemplate(idCardImage: try TestJPEG.blank())
            Issue.record("a template was sealed without a face")
        } catch {
            let status = try #require(error as? SimverifyClientError, "\(error)")
            #expect(status.code == .failedPrecondition && status.reason == "no_face_on_id_card")
        }
        for client in [backend, backendB] { await client.close() }
        await server.stop()
    }

    @Test func anExpiredTemplateIsRefusedAfterAuthentication() throws {
        let key = try IdentifierKeyring.Key(id: "t1", secret: Array(repeating: 9, count: 32))
        let sealer = TemplateSealer(keys: [key], lifetime: 60)
        let embedding = try FaceEmbedding((0..<128).map { Float($0) / 1000 }, model: .sface)
        let now = Date()
        let sealed = try sealer.seal(embedding, tenant: "carrier-a", now: now)
        #expect(try sealer.open(sealed.sealed, tenant: "carrier-a", space: .sface, now: now + 59) == embedding)
        #expect(throws: TemplateSealer.OpenFailure.expired) {
            try sealer.open(sealed.sealed, tenant: "carrier-a", space: .sface, now: now + 61)
        }
        #expect(throws: TemplateSealer.OpenFailure.invalid) {
            try sealer.open(sealed.sealed, tenant: "carrier-b", space: .sface, now: now)
        }
        // A forged expiry fails authentication rather than extending the template's life.
        var extended = sealed.sealed
        extended[6 + 2 + 7] &+= 1
        #expect(throws: TemplateSealer.OpenFailure.invalid) {
            try sealer.open(extended, tenant: "carrier-a", space: .sface, now: now)
        }
        // A template of another model is refused as such, and only after authentication: flipping
        // the model byte breaks the tag, so it cannot pass one model's template off as another's.
        #expect(throws: TemplateSealer.OpenFailure.otherModel) {
            try sealer.open(sealed.sealed, tenant: "carrier-a", space: .dlib, now: now)
        }
        var relabelled = sealed.sealed
        relabelled[4] = FaceModel.dlib.wireValue
        #expect(throws: TemplateSealer.OpenFailure.invalid) {
            try sealer.open(relabelled, tenant: "carrier-a", space: .dlib, now: now)
        }
        let dlibEmbedding = try FaceEmbedding((0..<128).map { Float($0) / 500 }, model: .dlib)
        let dlibSealed = try sealer.seal(dlibEmbedding, tenant: "carrier-a", now: now)
        #expect(try sealer.open(dlibSealed.sealed, tenant: "carrier-a", space: .dlib, now: now) == dlibEmbedding)
        #expect(throws: TemplateSealer.OpenFailure.otherModel) {
            try sealer.open(dlibSealed.sealed, tenant: "carrier-a", space: .sface, now: now)
        }
        // Rotation: a newer key seals, the older one still opens.
        let rotated = TemplateSealer(keys: [
            key, try IdentifierKeyring.Key(id: "t2", secret: Array(repeating: 7, count: 32)),
        ])
        #expect(try rotated.open(sealed.sealed, tenant: "carrier-a", space: .sface, now: now) == embedding)
        #expect(try rotated.seal(embedding, tenant: "carrier-a").keyID == "t2")
    }
}
