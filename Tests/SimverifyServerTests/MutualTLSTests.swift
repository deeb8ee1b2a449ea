import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import SimverifyClient
import SimverifyCore
import SimverifyWire
import Testing

/// The server refuses every caller that is not authenticated by a certificate from its CA, and
/// every method a caller's role does not allow.
@Suite("Mutual TLS", .serialized)
struct MutualTLSTests {
    /// True when a Health call through `configuration` fails.
    func refused(_ server: TestServer, _ configuration: ClientConfiguration) async -> Bool {
        do {
            let client = try await server.connect(configuration)
            defer { Task { await client.close() } }
            _ = try await client.health(deadline: .seconds(3))
            return false
        } catch {
            return true
        }
    }

    @Test func refusesAClientWithoutACertificate() async throws {
        let server = try await TestServer()
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(server.pki.path("ca.pem")))
        let context = try NIOSSLContext(configuration: tls)
        let closed = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        NIOSSLClientHandler(context: context, serverHostname: "localhost")
                    )
                }
            }
            .connect(host: "127.0.0.1", port: server.port).get()
        var header = ByteBuffer()
        header.writeFrameHeader(FrameHeader(type: .request, method: .health, correlationID: 1, payloadLength: 0))
        try? await closed.writeAndFlush(header)
        let deadline = ContinuousClock.now + .seconds(5)
        while closed.isActive && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(!closed.isActive)
        #expect(try await server.client().health().serving, "other callers are still served")
        await server.stop()
    }

    @Test func refusesCertificatesFromAnotherCAOrExpiredOrWithoutIdentity() async throws {
        let server = try await TestServer()
        let identity = try CallerIdentity(tenant: "carrier-a", role: .counter, terminal: "store-0001")
        let foreign = try server.pki.write(try server.pki.untrusted.issueClient(identity), as: "foreign")
        #expect(await self.refused(server, foreign))
        let expired = try server.pki.write(
            try server.pki.trusted.issueClient(
                identity,
                notValidBefore: Date() - 86400 * 10,
                notValidAfter: Date() - 86400
            ),
            as: "expired"
        )
        #expect(await self.refused(server, expired))
        let anonymous = try server.pki.write(
            try server.pki.trusted.issueClient(names: [.dnsName("terminal.example")], commonName: "no identity"),
            as: "anonymous"
        )
        do {
            let client = try await server.connect(anonymous)
            _ = try await client.health(deadline: .seconds(3))
            Issue.record("a certificate without identity was served")
        } catch {
            let status = try #require(error as? SimverifyClientError, "\(error)")
            #expect(status.code == .unavailable)
            // The goaway, or the close/reset that follows it, depending on which the client reads first.
            #expect(["bad_identity", "connection_closed", "connection_error"].contains(status.reason), "\(status)")
        }
        #expect(try await server.client().health().serving)
        await server.stop()
    }

    @Test func eachMethodOnlyForItsRoles() async throws {
        let server = try await TestServer()
        let photo = try TestJPEG.bytes(Paths.face("london_005__neutral.jpg"))
        let request = VerificationRequest(idCardImage: photo, selfieFrames: [photo], consentGiven: true)
        for name in ["regulator", "operator"] {
            let client = try await server.client(name)
            await #expect(throws: SimverifyClientError.self) { _ = try await client.verify(request) }
            do {
                _ = try await client.verify(request)
            } catch {
                let status = error
                #expect(status.code == .permissionDenied && status.reason == "role_not_allowed")
            }
            await client.close()
        }
        let counter = try await server.client()
        do {
            _ = try await counter.call(method: .extractTemplate, payload: ByteBuffer())
            Issue.record("a counter called ExtractTemplate")
        } catch {
            let status = error
            #expect(status.code == .permissionDenied)
        }
        await counter.close()
        let backend = try await server.client("backend-carrier-a")
        do {
            _ = try await backend.call(method: .extractTemplate, payload: ByteBuffer())
            Issue.record("an empty ExtractTemplate was answered")
        } catch {
            let status = error
            #expect(status.code == .invalidArgument && status.reason == "id_card_missing", "a backend may call it")
        }
        await backend.close()
        await server.stop()
    }
}
