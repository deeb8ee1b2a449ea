import ArgumentParser
import Foundation
import SimverifyClient
import SimverifyCommandSupport
import SimverifyConnectionOptions
import SimverifyCore
import SimverifyWire

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify a selfie (or a liveness burst) against an ID-card photo on a simverify server.",
        discussion: """
            One --selfie without a session; 5-15 --selfie frames, in capture order, with --session-token
            from `simverify start-session` (the frames must show the session's challenge). With
            --live-bursts DIR the command starts the session itself and sends the generated live burst
            (scripts/make-liveness-sequences.sh) that performs the drawn challenge: a demonstration,
            where a terminal would capture the customer performing the steps.
            Exit status 0 when the server returned a decision (whatever it is), 2 when the call failed.
            """
    )

    @Option(help: "ID-card photo (JPEG).") var idCard: String
    @Option(help: "Selfie frame (JPEG); repeat for a burst, in capture order.") var selfie: [String] = []
    @Option(help: "Session token from start-session.") var sessionToken: String?
    @Option(help: "Milliseconds between frames, sent as their capture times.") var frameIntervalMs: UInt32?
    @Option(help: "Folder of generated bursts: start a session and send the one performing its challenge.")
    var liveBursts: String?
    @Flag(help: "The customer has given consent (required by the server).") var consent = false
    @Option(help: "Version of the consent text shown.") var consentVersion: String = "dev-1"
    @Option(help: "Subject's national ID number (hashed by the server, never stored raw).") var nationalId: String = ""
    @Option(help: "Phone number being registered.") var msisdn: String = ""
    @Option(help: "SIM serial number.") var iccid: String = ""
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let result: VerificationResult
        var token = sessionToken
        do {
            guard !selfie.isEmpty || liveBursts != nil else {
                throw ValidationError("give --selfie (repeated for a burst) or --live-bursts")
            }
            let idCardBytes = try ZeroizingBuffer(contentsOfFile: idCard, maxBytes: 16 << 20)
            var frames = try selfie.map { try ZeroizingBuffer(contentsOfFile: $0, maxBytes: 16 << 20) }
            let client = try await SimverifyClient.connect(try connection.clientConfiguration())
            defer { Task { await client.close() } }
            var interval = frameIntervalMs
            if let liveBursts {
                let bursts = try LivenessSequence.load(root: liveBursts).filter { $0.sequence.kind == "live" }
                var chosen: (name: String, path: String, sequence: LivenessSequence)?
                for _ in 0..<100 where chosen == nil {
                    let session = try await client.startSession()
                    if let burst = bursts.first(where: { $0.sequence.challenge == session.challenge }) {
                        chosen = burst
                        token = session.token
                        print(
                            "session challenge: \(session.challenge.map(\.rawValue).joined(separator: " > ")); sending \(burst.name)"
                        )
                    }
                }
                guard let chosen else {
                    throw ValidationError("\(liveBursts) has no live burst for the challenges drawn")
                }
                frames = try chosen.sequence.readFrames(at: chosen.path, maxBytes: 16 << 20)
                interval = interval ?? 250
            }
            var request = VerificationRequest(
                idCardImage: idCardBytes,
                selfieFrames: frames,
                subject: SubjectReferences(nationalID: nationalId, msisdn: msisdn, iccid: iccid),
                consentGiven: consent,
                consentTextVersion: consentVersion,
                sessionToken: token
            )
            if let interval { request.frameTimesMilliseconds = frames.indices.map { UInt32($0) * interval } }
            result = try await client.verify(request)
            await client.close()
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
                    decision: result.decision.rawValue,
                    reasons: result.reasons.map(\.rawValue),
                    distance: result.distance,
                    threshold: result.threshold,
                    policyVersion: result.policyVersion,
                    receipt: result.receiptLeafIndex.map {
                        "\($0):" + hex(result.receiptLeafHash ?? [])
                    }
                )
            )
        } else {
            var line = "\(result.decision.rawValue) (\(result.reasons.map(\.rawValue).joined(separator: ", ")))"
            if let distance = result.distance, let threshold = result.threshold {
                line += String(
                    format: ", distance %.4f, threshold %@",
                    distance,
                    MatchPolicy.text(threshold: threshold)
                )
            }
            if token != nil { line += ", attempts remaining \(result.attemptsRemaining)" }
            print(line + ", policy \(result.policyVersion)")
            if let index = result.receiptLeafIndex, let hash = result.receiptLeafHash {
                print("audit receipt \(index):\(hex(hash))")
            }
        }
    }
}

struct StartSessionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start-session",
        abstract: "Start a liveness session: print its token and the challenge to perform."
    )
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        do {
            let client = try await SimverifyClient.connect(try connection.clientConfiguration())
            let session = try await client.startSession()
            await client.close()
            if json {
                struct Output: Encodable {
                    var token: String, challenge: [String], expiresAt: Int64, attemptsAllowed: Int
                }
                printJSON(
                    Output(
                        token: session.token,
                        challenge: session.challenge.map(\.rawValue),
                        expiresAt: session.expiresAt,
                        attemptsAllowed: session.attemptsAllowed
                    )
                )
            } else {
                print("challenge: \(session.challenge.map(\.rawValue).joined(separator: " > "))")
                print("expires at \(session.expiresAt) (Unix seconds), \(session.attemptsAllowed) attempts")
                print("token: \(session.token)")
            }
        } catch let error as SimverifyClientError {
            reportAndExit(error)
        }
    }
}

struct HealthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Ask a server whether it is serving."
    )
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        do {
            let client = try await SimverifyClient.connect(try connection.clientConfiguration())
            let report = try await client.health()
            await client.close()
            print(
                "\(report.serving ? "SERVING" : "NOT SERVING"), version \(report.version), \(report.faceWorkers) face workers, \(report.faceJobsBusy) busy, \(report.faceJobsWaiting) waiting"
            )
        } catch let error as SimverifyClientError {
            reportAndExit(error)
        }
    }
}
