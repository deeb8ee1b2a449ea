import ArgumentParser
import Foundation
import SimverifyAudit
import SimverifyClient
import SimverifyWire

@main
struct SimverifyAuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simverify-audit",
        abstract: "The regulator's tool: pull simverify's audit log and verify it with nothing but its public key.",
        discussion: "Links no face engine. docs/AUDIT.md describes the log, the bundle and what each check proves.",
        subcommands: [
            PullCommand.self, VerifyBundleCommand.self, ProveCommand.self, StatsCommand.self, LookupCommand.self,
        ]
    )
}

/// The server and the regulator certificate.
struct RegulatorConnection: ParsableArguments {
    @Option(help: "Server as host:port.") var server: String = "127.0.0.1:7443"
    @Option(help: "Regulator certificate (PEM).") var cert: String = "certs/generated/regulator.pem"
    @Option(help: "Regulator private key (PEM).") var key: String = "certs/generated/regulator-key.pem"
    @Option(help: "CA that issued the server's certificate (PEM).") var ca: String = "certs/generated/ca.pem"

    func connect() async throws -> SimverifyClient {
        guard let colon = server.lastIndex(of: ":"), let port = Int(server[server.index(after: colon)...]) else {
            throw ValidationError("--server must be host:port")
        }
        return try await SimverifyClient.connect(
            ClientConfiguration(
                host: String(server[..<colon]),
                port: port,
                certificate: cert,
                privateKey: key,
                trustRoots: ca
            )
        )
    }
}

/// The server as a source of entries for a bundle.
struct ServerLogSource: AuditLogSource {
    let client: SimverifyClient
    func checkpoint() async throws -> [UInt8] { try await self.client.checkpoint() }
    func entries(from start: UInt64, to end: UInt64) async throws -> [[UInt8]] {
        try await self.client.entries(from: start, to: end)
    }
    func consistencyProof(from: UInt64, to: UInt64) async throws -> [[UInt8]] {
        try await self.client.consistencyProof(from: from, to: to)
    }
}

/// A progress bar on standard error for long runs.
final class ProgressBar: @unchecked Sendable {
    private let label: String
    private let enabled: Bool
    private var last = -1

    init(_ label: String, enabled: Bool) {
        self.label = label
        self.enabled = enabled
    }

    func update(_ done: UInt64, _ total: UInt64) {
        guard self.enabled, total > 0 else { return }
        let percent = Int(done * 100 / total)
        guard percent != self.last else { return }
        self.last = percent
        let filled = percent / 4
        let bar = String(repeating: "=", count: filled) + String(repeating: " ", count: 25 - filled)
        FileHandle.standardError.write(Data("\r\(self.label) [\(bar)] \(percent)% \(done)/\(total)".utf8))
        if done >= total { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

func fail(_ error: Error) -> Never {
    FileHandle.standardError.write(Data("simverify-audit: \(error)\n".utf8))
    exit(2)
}

func emitJSON(_ value: some Encodable) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    print(String(decoding: (try? encoder.encode(value)) ?? Data(), as: UTF8.self))
}

func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

struct PullCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull",
        abstract: "Download new entries and the latest checkpoint into a local bundle, incrementally.",
        discussion:
            "Refuses (exit 1) a checkpoint not signed by the log's key, or one inconsistent with the checkpoint kept before."
    )
    @Option(help: "The bundle directory.") var bundle: String
    @Option(help: "The log's vkey, or a file holding it (needed the first time).") var vkey: String?
    @Flag(help: "Print JSON.") var json = false
    @Flag(help: "No progress bar.") var quiet = false
    @OptionGroup var connection: RegulatorConnection

    func run() async throws {
        do {
            let key = try vkey.map { value in
                FileManager.default.fileExists(atPath: value)
                    ? try String(contentsOfFile: value, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
                    : value
            }
            let local = try AuditBundle(directory: bundle, vkey: key)
            let client = try await connection.connect()
            let bar = ProgressBar("pull", enabled: !quiet && !json)
            let result = try await local.pull(from: ServerLogSource(client: client), progress: bar.update)
            await client.close()
            struct Output: Encodable {
                var previousSize: UInt64
                var size: UInt64
            }
            if json {
                emitJSON(Output(previousSize: result.previousSize, size: result.size))
            } else {
                print(
                    "pulled \(result.size - result.previousSize) entries; the bundle holds \(result.size), consistent with every checkpoint kept"
                )
            }
        } catch let error as AuditError {
            FileHandle.standardError.write(Data("simverify-audit: REFUSED: \(error)\n".utf8))
            throw ExitCode(1)
        } catch {
            fail(error)
        }
    }
}

struct VerifyBundleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Recompute the tree from a bundle's entries and check every kept checkpoint, offline.",
        discussion: "Exit status 0 when everything verifies, 1 when something does not (the first bad index is named)."
    )
    @Option(help: "The bundle directory.") var bundle: String
    @Option(help: "More verifier keys (rotated log keys, witnesses).") var extraVkey: [String] = []
    @Flag(help: "Print JSON.") var json = false
    @Flag(help: "No progress bar.") var quiet = false

    func run() async throws {
        let report: AuditBundle.VerificationReport
        do {
            let local = try AuditBundle(directory: bundle)
            let bar = ProgressBar("verify", enabled: !quiet && !json)
            report = try local.verify(extraVerifiers: try extraVkey.map(NoteVerifier.init(vkey:)), progress: bar.update)
        } catch {
            fail(error)
        }
        if json {
            emitJSON(report)
        } else if report.ok {
            print(
                "OK: \(report.entries) entries, \(report.checkpointsVerified) checkpoints verified up to size \(report.verifiedSize)"
            )
        } else {
            print("FAILED: \(report.problem)" + (report.firstBadIndex.map { " (first bad index \($0))" } ?? ""))
        }
        if !report.ok { throw ExitCode(1) }
    }
}

struct ProveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prove",
        abstract: "Prove a Verify receipt (INDEX:LEAFHASH, hex) is in the log, against the bundle's latest checkpoint."
    )
    @Option(help: "The bundle directory.") var bundle: String
    @Argument(help: "The receipt: leaf index and leaf hash, as INDEX:HEX.") var receipt: String
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let parts = receipt.split(separator: ":")
        guard parts.count == 2, let index = UInt64(parts[0]), parts[1].count == 64 else {
            throw ValidationError("a receipt is INDEX:LEAFHASH with a 64-digit hex hash")
        }
        var hash: [UInt8] = []
        var rest = Substring(parts[1])
        while !rest.isEmpty {
            guard let byte = UInt8(rest.prefix(2), radix: 16) else { throw ValidationError("the leaf hash is not hex") }
            hash.append(byte)
            rest = rest.dropFirst(2)
        }
        do {
            let checkpoint = try AuditBundle(directory: bundle).prove(index: index, leafHash: hash)
            struct Output: Encodable {
                var proved: Bool
                var index: UInt64
                var checkpointSize: UInt64
                var root: String
            }
            if json {
                emitJSON(
                    Output(proved: true, index: index, checkpointSize: checkpoint.size, root: hex(checkpoint.rootHash))
                )
            } else {
                print("PROVED: entry \(index) is in the log signed at size \(checkpoint.size)")
            }
        } catch let error as AuditError {
            if json { emitJSON(["proved": false]) }
            FileHandle.standardError.write(Data("simverify-audit: NOT PROVED: \(error)\n".utf8))
            throw ExitCode(1)
        } catch {
            fail(error)
        }
    }
}

struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Counts by tenant, event, decision and day."
    )
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var connection: RegulatorConnection

    func run() async throws {
        do {
            let client = try await connection.connect()
            let rows = try await client.stats()
            await client.close()
            if json {
                emitJSON(rows)
            } else {
                print("day         tenant            event              decision         count")
                for row in rows {
                    let day = Date(timeIntervalSince1970: Double(row.day) * 86400).formatted(
                        .iso8601.year().month().day()
                    )
                    print(
                        "\(day)  \(row.tenant.padding(toLength: 16, withPad: " ", startingAt: 0))  \(row.event.padding(toLength: 17, withPad: " ", startingAt: 0))  \(row.decision.padding(toLength: 15, withPad: " ", startingAt: 0))  \(row.count)"
                    )
                }
            }
        } catch {
            fail(error)
        }
    }
}

struct LookupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lookup",
        abstract:
            "Entries of one subject, by national ID number (hashed by the server; the look-up is itself recorded)."
    )
    @Option(help: "The national ID number.") var nationalId: String
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var connection: RegulatorConnection

    func run() async throws {
        do {
            let client = try await connection.connect()
            let result = try await client.lookupSubject(nationalID: nationalId)
            await client.close()
            struct Output: Encodable {
                var entries: [UInt64]
                var lookupEntry: UInt64
            }
            if json {
                emitJSON(Output(entries: result.matches, lookupEntry: result.lookupEntry))
            } else {
                print(
                    "\(result.matches.count) entries: \(result.matches.map(String.init).joined(separator: ", ")); this look-up is entry \(result.lookupEntry)"
                )
            }
        } catch {
            fail(error)
        }
    }
}
