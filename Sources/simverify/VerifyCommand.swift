import ArgumentParser
import Foundation
import SimverifyClient
import SimverifyCore
import SimverifyWire

/// Options naming the server and the client certificate.
struct ConnectionOptions: ParsableArguments {
    @Option(help: "Server as host:port.") var server: String = "127.0.0.1:7443"
    @Option(help: "Client certificate (PEM).") var cert: String = "certs/generated/counter-carrier-a-store-0001.pem"
    @Option(help: "Client private key (PEM).") var key: String = "certs/generated/counter-carrier-a-store-0001-key.pem"
    @Option(help: "CA certificate that issued the server's certificate (PEM).") var ca: String = "certs/generated/ca.pem"

    func clientConfiguration() throws -> ClientConfiguration {
        guard let colon = server.lastIndex(of: ":"), let port = Int(server[server.index(after: colon)...]) else {
            throw ValidationError("--server must be host:port")
        }
        return ClientConfiguration(
            host: String(server[..<colon]), port: port, certificate: cert, privateKey: key, trustRoots: ca
        )
    }
}

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify a selfie against an ID-card photo on a simverify server.",
        discussion: "Exit status 0 when the server returned a decision (whatever it is), 2 when the call failed."
    )

    @Option(help: "ID-card photo (JPEG).") var idCard: String
    @Option(help: "Selfie (JPEG).") var selfie: String
    @Flag(help: "The customer has given consent (required by the server).") var consent = false
    @Option(help: "Version of the consent text shown.") var consentVersion: String = "dev-1"
    @Option(help: "Subject's national ID number (hashed by the server, never stored raw).") var nationalId: String = ""
    @Option(help: "Phone number being registered.") var msisdn: String = ""
    @Option(help: "SIM serial number.") var iccid: String = ""
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let result: VerificationResult
        do {
            let idCardBytes = try ZeroizingBuffer(contentsOfFile: idCard, maxBytes: 16 << 20)
            let selfieBytes = try ZeroizingBuffer(contentsOfFile: selfie, maxBytes: 16 << 20)
            let client = try await SimverifyClient.connect(try connection.clientConfiguration())
            defer { Task { await client.close() } }
            result = try await client.verify(
                VerificationRequest(
                    idCardImage: idCardBytes, selfieFrames: [selfieBytes],
                    subject: SubjectReferences(nationalID: nationalId, msisdn: msisdn, iccid: iccid),
                    consentGiven: consent, consentTextVersion: consentVersion
                )
            )
            await client.close()
        } catch let status as RPCStatus {
            FileHandle.standardError.write(Data("simverify: \(status)\n".utf8))
            throw ExitCode(2)
        } catch let error as ValidationError {
            throw error
        } catch {
            reportAndExit(error)
        }
        if json {
            struct Output: Encodable {
                var decision: String, reasons: [String], distance: Double?, threshold: Double?, policyVersion: String
                var receipt: String?
            }
            printJSON(
                Output(
                    decision: result.decision.rawValue, reasons: result.reasons.map(\.rawValue), distance: result.distance,
                    threshold: result.threshold, policyVersion: result.policyVersion,
                    receipt: result.receiptLeafIndex.map { "\($0):" + (result.receiptLeafHash ?? []).map { String(format: "%02x", $0) }.joined() }
                )
            )
        } else {
            var line = "\(result.decision.rawValue) (\(result.reasons.map(\.rawValue).joined(separator: ", ")))"
            if let distance = result.distance, let threshold = result.threshold {
                line += String(format: ", distance %.4f, threshold %.2f", distance, threshold)
            }
            print(line + ", policy \(result.policyVersion)")
            if let index = result.receiptLeafIndex, let hash = result.receiptLeafHash {
                print("audit receipt \(index):\(hash.map { String(format: "%02x", $0) }.joined())")
            }
        }
    }
}

struct HealthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "health", abstract: "Ask a server whether it is serving.")
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        do {
            let client = try await SimverifyClient.connect(try connection.clientConfiguration())
            let report = try await client.health()
            await client.close()
            print("\(report.serving ? "SERVING" : "NOT SERVING"), version \(report.version), \(report.faceWorkers) face workers, \(report.faceJobsBusy) busy, \(report.faceJobsWaiting) waiting")
        } catch let status as RPCStatus {
            FileHandle.standardError.write(Data("simverify: \(status)\n".utf8))
            throw ExitCode(2)
        }
    }
}
