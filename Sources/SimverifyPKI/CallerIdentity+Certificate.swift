import SimverifyCore
import X509

extension CallerIdentity {
    /// The caller named by a client certificate: its one `simverify://` URI subject alternative name.
    /// - Parameter certificate: A certificate already verified by TLS against the configured CA.
    /// - Throws: `SimverifyError` `.invalidArgument` when there is no such URI, more than one, or a malformed one.
    public init(certificate: Certificate) throws {
        let names = (try? certificate.extensions.subjectAlternativeNames).flatMap { $0 } ?? SubjectAlternativeNames([])
        let uris = names.compactMap { name -> String? in
            if case .uniformResourceIdentifier(let uri) = name, uri.hasPrefix("simverify://") { return uri }
            return nil
        }
        guard uris.count == 1 else {
            throw SimverifyError(
                .invalidArgument,
                "the client certificate must carry exactly one simverify:// URI name"
            )
        }
        try self.init(uri: uris[0])
    }

    /// The caller named by a DER-encoded client certificate.
    public init(derEncodedCertificate bytes: [UInt8]) throws {
        let certificate: Certificate
        do {
            certificate = try Certificate(derEncoded: bytes)
        } catch {
            throw SimverifyError(.invalidArgument, "the client certificate cannot be parsed")
        }
        try self.init(certificate: certificate)
    }
}
