import SimverifyCore
import SimverifyPKI
import SwiftASN1
import Testing
import X509

@Suite("Caller identity")
struct CallerIdentityTests {
    @Test(arguments: [
        ("simverify://carrier-a/counter/store-0001", "carrier-a", CallerRole.counter, "store-0001" as String?),
        ("simverify://carrier-a/backend", "carrier-a", .backend, nil),
        ("simverify://kcc/regulator", "kcc", .regulator, nil),
    ])
    func parsesIdentityURIs(uri: String, tenant: String, role: CallerRole, terminal: String?) throws {
        let identity = try CallerIdentity(uri: uri)
        #expect(identity.tenant == tenant && identity.role == role && identity.terminal == terminal)
        #expect(identity.uri == uri)
    }

    @Test(arguments: [
        "https://carrier-a/counter", "simverify://carrier-a", "simverify://carrier-a/admin",
        "simverify://Carrier-A/counter",
        "simverify://carrier-a/counter/store 1", "simverify:///counter", "simverify://-a/counter",
        "simverify://a/counter/b/c",
        "simverify://" + String(repeating: "a", count: 64) + "/counter",
    ])
    func refusesMalformedURIs(uri: String) {
        #expect(throws: SimverifyError.self) { try CallerIdentity(uri: uri) }
    }

    @Test func readsTheIdentityFromAnIssuedCertificate() throws {
        let pki = try DevelopmentPKI()
        let identity = try CallerIdentity(tenant: "carrier-b", role: .counter, terminal: "store-0042")
        let issued = try pki.issueClient(identity)
        #expect(try CallerIdentity(certificate: issued.certificate) == identity)
        var serializer = DER.Serializer()
        try serializer.serialize(issued.certificate)
        #expect(try CallerIdentity(derEncodedCertificate: serializer.serializedBytes) == identity)
        #expect(issued.certificate.issuer == pki.authority.certificate.subject)
    }

    @Test func refusesCertificatesWithoutExactlyOneIdentity() throws {
        let pki = try DevelopmentPKI()
        let none = try pki.issueClient(names: [.dnsName("terminal.example")], commonName: "no identity")
        #expect(throws: SimverifyError.self) { try CallerIdentity(certificate: none.certificate) }
        let two = try pki.issueClient(
            names: [
                .uniformResourceIdentifier("simverify://a/counter/t1"),
                .uniformResourceIdentifier("simverify://b/backend"),
            ],
            commonName: "two identities"
        )
        #expect(throws: SimverifyError.self) { try CallerIdentity(certificate: two.certificate) }
        #expect(throws: SimverifyError.self) { try CallerIdentity(derEncodedCertificate: [0x30, 0x03, 1, 2, 3]) }
    }
}
