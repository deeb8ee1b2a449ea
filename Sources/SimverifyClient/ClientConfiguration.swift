/// Where the server is and which certificate the client presents.
public struct ClientConfiguration: Sendable, Hashable {
    /// Server address.
    public var host: String
    /// Server port.
    public var port: Int
    /// PEM file of the client's certificate (it names the tenant, role and terminal).
    public var certificate: String
    /// PEM file of the client's private key.
    public var privateKey: String
    /// PEM file of the CA that issued the server's certificate.
    public var trustRoots: String
    /// Name checked against the server's certificate.
    public var serverHostname: String
    /// How long connecting and the TLS handshake may take.
    public var connectTimeout: Duration

    /// Creates a configuration; the defaults match `simverify serve` with the development certificates.
    public init(
        host: String = "127.0.0.1",
        port: Int = 7443,
        certificate: String = "certs/generated/counter-carrier-a-store-0001.pem",
        privateKey: String = "certs/generated/counter-carrier-a-store-0001-key.pem",
        trustRoots: String = "certs/generated/ca.pem",
        serverHostname: String = "localhost",
        connectTimeout: Duration = .seconds(10)
    ) {
        self.host = host
        self.port = port
        self.certificate = certificate
        self.privateKey = privateKey
        self.trustRoots = trustRoots
        self.serverHostname = serverHostname
        self.connectTimeout = connectTimeout
    }
}
