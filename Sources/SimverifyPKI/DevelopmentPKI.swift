import Crypto
import Foundation
import SimverifyCore
import SwiftASN1
import X509

/// A certificate with its private key, both as PEM.
public struct IssuedCertificate: Sendable {
    /// The certificate.
    public let certificate: Certificate
    /// The private key.
    public let privateKey: Certificate.PrivateKey

    /// The certificate as PEM.
    public func certificatePEM() throws -> String { try self.certificate.serializeAsPEM().pemString }
    /// The private key as PKCS#8 PEM.
    public func privateKeyPEM() throws -> String { try self.privateKey.serializeAsPEM().pemString }
}

/// A certificate authority for development and tests: ECDSA P-256 keys, short validity.
///
/// Production deployments use the carriers' and the operator's own PKI; only the identity URI
/// scheme (`simverify://TENANT/ROLE[/TERMINAL]`) matters to the server.
public struct DevelopmentPKI: Sendable {
    /// The CA certificate and key.
    public let authority: IssuedCertificate

    /// Creates a new CA.
    /// - Parameters:
    ///   - name: Common name of the CA.
    ///   - validity: How long it is valid from now.
    public init(name: String = "simverify development CA", validity: TimeInterval = 365 * 86400) throws {
        let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
        let subject = try DistinguishedName {
            OrganizationName("simverify development")
            CommonName(name)
        }
        let now = Date()
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: key.publicKey,
            notValidBefore: now - 3600,
            notValidAfter: now + validity,
            issuer: subject,
            subject: subject,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: key.publicKey)
            },
            issuerPrivateKey: key
        )
        self.authority = IssuedCertificate(certificate: certificate, privateKey: key)
    }

    /// Issues a server certificate for `localhost` and 127.0.0.1 (plus `hostnames`).
    public func issueServer(hostnames: [String] = [], validity: TimeInterval = 365 * 86400) throws -> IssuedCertificate
    {
        var names: [GeneralName] = [.dnsName("localhost"), .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1]))]
        names += hostnames.map { .dnsName($0) }
        return try self.issue(
            commonName: "simverify server",
            names: names,
            usage: .serverAuth,
            notValidBefore: Date() - 3600,
            notValidAfter: Date() + validity
        )
    }

    /// Issues a client certificate naming `identity`.
    /// - Parameters:
    ///   - identity: Tenant, role and terminal, carried as a URI subject alternative name.
    ///   - notValidBefore: Start of validity (default: an hour ago).
    ///   - notValidAfter: End of validity (default: a year from now); a past date makes an expired certificate.
    public func issueClient(
        _ identity: CallerIdentity,
        notValidBefore: Date = Date() - 3600,
        notValidAfter: Date = Date() + 365 * 86400
    ) throws -> IssuedCertificate {
        try self.issue(
            commonName: identity.uri,
            names: [.uniformResourceIdentifier(identity.uri)],
            usage: .clientAuth,
            notValidBefore: notValidBefore,
            notValidAfter: notValidAfter
        )
    }

    /// Issues a client certificate with any subject alternative names (for tests of bad certificates).
    public func issueClient(names: [GeneralName], commonName: String) throws -> IssuedCertificate {
        try self.issue(
            commonName: commonName,
            names: names,
            usage: .clientAuth,
            notValidBefore: Date() - 3600,
            notValidAfter: Date() + 86400
        )
    }

    private func issue(
        commonName: String,
        names: [GeneralName],
        usage: ExtendedKeyUsage.Usage,
        notValidBefore: Date,
        notValidAfter: Date
    ) throws -> IssuedCertificate {
        let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
        let subject = try DistinguishedName {
            OrganizationName("simverify development")
            CommonName(commonName)
        }
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: key.publicKey,
            notValidBefore: notValidBefore,
            notValidAfter: notValidAfter,
            issuer: self.authority.certificate.subject,
            subject: subject,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([usage])
                SubjectAlternativeNames(names)
                AuthorityKeyIdentifier(
                    keyIdentifier: try self.authority.certificate.extensions.subjectKeyIdentifier?.keyIdentifier
                )
            },
            issuerPrivateKey: self.authority.privateKey
        )
        return IssuedCertificate(certificate: certificate, privateKey: key)
    }
}

extension DevelopmentPKI {
    /// The development identities the README's commands use.
    public static let standardClients: [(file: String, identity: CallerIdentity)] = {
        [
            (
                "counter-carrier-a-store-0001",
                try! CallerIdentity(tenant: "carrier-a", role: .counter, terminal: "store-0001")
            ),
            ("backend-carrier-a", try! CallerIdentity(tenant: "carrier-a", role: .backend)),
            ("regulator", try! CallerIdentity(tenant: "regulator", role: .regulator)),
            (
                "counter-carrier-b-store-0001",
                try! CallerIdentity(tenant: "carrier-b", role: .counter, terminal: "store-0001")
            ),
            ("operator", try! CallerIdentity(tenant: "operator", role: .operator)),
        ]
    }()

    /// Writes a new CA, a server certificate and the standard client certificates into
    /// `directory` (see `write(to:)`). Existing files are kept unless `overwrite`.
    /// - Returns: The paths written; empty when a set was already there.
    @discardableResult
    public static func writeDevelopmentSet(to directory: String, overwrite: Bool = false) throws -> [String] {
        if !overwrite, FileManager.default.fileExists(atPath: directory + "/ca.pem") { return [] }
        return try DevelopmentPKI().write(to: directory)
    }

    /// Writes this CA's certificate, a server certificate and the standard client certificates
    /// into `directory` as `ca.pem`, `server.pem`, `server-key.pem`, `NAME.pem`, `NAME-key.pem`.
    /// Keys are mode 0600; the CA's key is not written.
    /// - Returns: The paths written.
    @discardableResult
    public func write(to directory: String) throws -> [String] {
        let fm = FileManager.default
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var written: [String] = []
        func write(_ name: String, _ issued: IssuedCertificate, key: Bool = true) throws {
            let certPath = directory + "/\(name).pem"
            try issued.certificatePEM().write(toFile: certPath, atomically: true, encoding: .utf8)
            written.append(certPath)
            guard key else { return }
            let keyPath = directory + "/\(name)-key.pem"
            try? fm.removeItem(atPath: keyPath)
            guard
                fm.createFile(
                    atPath: keyPath,
                    contents: Data(try issued.privateKeyPEM().utf8),
                    attributes: [.posixPermissions: 0o600]
                )
            else {
                throw SimverifyError(.fileUnreadable, "cannot write \(keyPath)")
            }
            written.append(keyPath)
        }
        try write("ca", self.authority, key: false)
        try write("server", try self.issueServer())
        for client in Self.standardClients {
            try write(client.file, try self.issueClient(client.identity))
        }
        return written
    }
}
