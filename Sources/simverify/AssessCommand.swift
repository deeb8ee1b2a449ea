import ArgumentParser
import Crypto
import Foundation
import SimverifyAudit
import SimverifyClient
import SimverifyCommandSupport
import SimverifyCore
import SimverifyEnrolment
import SimverifyFaceEngine
import SimverifyPKI
import SimverifyServer

/// The document an independent assessor attaches to a human-rights impact assessment: accuracy by
/// group, liveness, ID cards and the privacy canary on the data given, with everything needed to
/// reproduce it, in one dated, self-contained HTML page.
struct AssessCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "assess",
        abstract:
            "Run accuracy by group, liveness and the privacy canary on the data given, and write a dated, self-contained HTML report.",
        discussion: """
            --pairs (with --groups, a manifest as for eval --groups) measures match error rates by
            group with their intervals, the DET curves and the distance histogram; --liveness (with
            --labels for a manifest-described folder) runs eval-liveness on each folder; --id-cards
            (a folder written by scripts/make-id-cards.sh) measures the cards' shift and the error
            rates with cards as the ID side. The privacy canary always runs: a real server started
            from this binary on loopback receives images of the pairs (and a liveness burst) marked
            with a unique marker, and its log, its files and its whole readable memory are then
            searched for them (reading a hardened server's memory needs root). The report holds the
            date, the software and model versions with the models' SHA-256, the policy, the tables,
            the pictures and the commands that reproduce each part. Exit status 1 when the canary
            finds a copy or cannot run.
            """
    )

    @Option(help: "A pairs file (imageA, imageB, same); its images relative to its folder.") var pairs: String
    @Option(help: "A manifest (file column and the --group-by columns) for rates by group.") var groups: String?
    @Option(help: "The manifest columns to group by, comma-separated.") var groupBy = "gender"
    @Option(help: "The largest false-match rate for the reported operating point.") var maxFmr = 0.01
    @Option(help: "A folder of liveness bursts (repeatable).") var liveness: [String] = []
    @Option(help: "The steps each burst performs, for the folders described by a MANIFEST.tsv.") var labels: String?
    @Option(help: "A folder of generated ID cards (scripts/make-id-cards.sh).") var idCards: String?
    @Option(help: "The report's file (default: assessment-YYYY-MM-DD.html).") var out: String?
    @OptionGroup var engine: EngineOptions

    func run() async throws {
        do {
            let started = Date()
            let day = ISO8601DateFormatter.string(
                from: started,
                timeZone: TimeZone(identifier: "UTC")!,
                formatOptions: [.withFullDate]
            )
            let file = out ?? "assessment-\(day).html"
            var sections: [(heading: String, text: String)] = []
            var pictures: [(heading: String, svg: String)] = []
            let me = Self.executable
            var reproduce: [String] = []

            // Accuracy by group.
            let faceEngine = try engine.makeEngine()
            let policy = faceEngine.suggestedPolicy
            let (table, enrolment) = try await Enrolment.run(pairs: pairs, root: nil, engine: faceEngine)
            var evaluation = EvalReport(
                table: table,
                enrolment: enrolment,
                maxFMR: maxFmr,
                policyThreshold: policy.threshold
            )
            var evalCommand = [me, "eval", pairs, "--max-fmr", String(maxFmr)]
            if let groups {
                try evaluation.group(
                    by: Manifest(path: groups),
                    columns: groupBy.split(separator: ",").map(String.init),
                    table: table,
                    enrolment: enrolment,
                    fusionFrames: nil
                )
                evalCommand += ["--groups", groups, "--group-by", groupBy]
            }
            reproduce.append((evalCommand + engine.arguments).joined(separator: " "))
            sections.append(("Accuracy by group (\(pairs))", evaluation.text + "\n\n" + Self.countsCaveat))
            pictures += evaluation.pictures
            print("accuracy: \(evaluation.genuinePairs) genuine and \(evaluation.impostorPairs) impostor pairs")

            // ID cards as they reach the counter.
            if let idCards {
                // The four files share their cards and photos: each image is analysed once.
                let files = ["scan", "photo"].flatMap { variant in
                    [("shift", variant, "shift-\(variant).tsv"), ("pairs", variant, "pairs-\(variant).tsv")]
                }.map { kind, variant, name in (kind, variant, (idCards as NSString).appendingPathComponent(name)) }
                let tables = try files.map { try PairsFile(path: $0.2) }
                var kinds: [String: ImageKind] = [:]
                for (table, file) in zip(tables, files) {
                    kinds.merge(try table.kinds(firstKind: .idCard, path: file.2)) { a, _ in a }
                }
                let images = Array(Set(tables.flatMap(\.images))).sorted()
                let cardEnrolment = try await Enrolment.run(
                    images: images,
                    root: idCards,
                    engine: faceEngine,
                    kinds: kinds
                )
                var lines: [String] = []
                for (cards, (kind, variant, path)) in zip(tables, files) {
                    let enrolment = cardEnrolment.restricted(to: cards.images)
                    var report = EvalReport(
                        table: cards,
                        enrolment: enrolment,
                        maxFMR: maxFmr,
                        policyThreshold: policy.threshold
                    )
                    report.idCards = IDCardCapture(
                        cards: enrolment.faceWidths(of: cards.pairs.map(\.a)),
                        policy: policy
                    )
                    lines.append(
                        "\(variant) \(kind == "shift" ? "cards against their own portraits (the shift)" : "cards against the other photos"):"
                    )
                    lines.append(report.text)
                    lines.append("")
                    reproduce.append(
                        ([me, "eval", path, "--first-kind", "id-card", "--max-fmr", String(maxFmr)] + engine.arguments)
                            .joined(separator: " ")
                    )
                }
                sections.append(("ID cards (\(idCards))", lines.joined(separator: "\n")))
                print("id cards: measured")
            }
            await faceEngine.shutdown()

            // Liveness.
            for folder in liveness {
                let lines = try await EvalLivenessCommand.evaluate(
                    folder: folder,
                    labels: labels,
                    verbose: false,
                    engine: engine
                )
                sections.append(("Liveness (\(folder))", lines.joined(separator: "\n")))
                let hasManifest = FileManager.default.fileExists(
                    atPath: (folder as NSString).appendingPathComponent("MANIFEST.tsv")
                )
                reproduce.append(
                    ([me, "eval-liveness", folder] + (hasManifest ? ["--labels", labels ?? "?"] : []) + engine.arguments)
                        .joined(separator: " ")
                )
                print("liveness: \(folder) measured")
            }

            // The privacy canary.
            let base = (pairs as NSString).deletingLastPathComponent as NSString
            let canaryPairs = table.pairs.prefix(4).map {
                (base.appendingPathComponent($0.a), base.appendingPathComponent($0.b))
            }
            let burst = try liveness.first.flatMap { try Self.firstBurst(in: $0, labels: labels) }
            let canary = await CanaryRun.run(
                binary: me,
                pairs: canaryPairs,
                burst: burst,
                engine: engine,
                serverPolicy: policy
            )
            sections.append(("Privacy canary", canary.text))
            print("privacy canary: \(canary.passed ? "PASSED" : "FAILED")")

            // How it was made.
            let models =
                FaceModelFiles.required(for: faceEngine.model).map { "  \($0.fileName)  sha256 \($0.sha256)" }
                + (engine.modelDescriptor.map { path in
                    (try? FaceModelDescriptor.load(from: path)).map {
                        ["  \($0.file)  sha256 \($0.sha256) (descriptor \(path), fingerprint \($0.fingerprint))"]
                    } ?? []
                } ?? [])
            let policyJSON = (try? JSONEncoder.sorted.encode(policy)).map { String(decoding: $0, as: UTF8.self) } ?? "?"
            let made =
                [
                    "date \(ISO8601DateFormatter().string(from: started)) (took \(Int(Date().timeIntervalSince(started))) s)",
                    "software simverify \(VerificationService.version), executable sha256 \(Self.executableDigest)",
                    "model \(faceEngine.modelVersion)",
                    "model files (checked against these hashes when loaded):",
                ] + models + [
                    "policy \(policy.version): \(policyJSON)",
                    "command: " + ([me] + CommandLine.arguments.dropFirst()).joined(separator: " "),
                    "each part alone:",
                ] + reproduce.map { "  " + $0 }
            sections.insert(("How it was made", made.joined(separator: "\n")), at: 0)
            let html = ErrorRatePlots.page(
                title: "simverify assessment, \(day)",
                sections: sections,
                pictures: pictures
            )
            try Data(html.utf8).write(to: URL(fileURLWithPath: file))
            print("report written to \(file)")
            if !canary.passed { throw ExitCode(1) }
        } catch let error as ValidationError {
            throw error
        } catch let error as ExitCode {
            throw error
        } catch {
            reportAndExit(error)
        }
    }

    static let countsCaveat = """
        The counts are small: every rate comes with its 95 % Wilson interval, and a group's rate
        differs from another's only where their intervals do not overlap. A rate of 0 on n pairs
        means at most about 3/n, not none.
        """

    /// The SHA-256 of this binary, so that a reader can tell which build made the report.
    static var executableDigest: String {
        guard let data = FileManager.default.contents(atPath: Self.executable) else { return "unreadable" }
        return SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }

    /// This binary's path.
    static var executable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// A live burst of the folder for the canary: its first sequence of kind live (a
    /// manifest-described folder's, with `labels`).
    static func firstBurst(in folder: String, labels: String?) throws -> [String]? {
        let manifest = (folder as NSString).appendingPathComponent("MANIFEST.tsv")
        let sequences =
            FileManager.default.fileExists(atPath: manifest)
            ? try labels.map { try LivenessSequence.load(manifest: manifest, labels: $0) } ?? []
            : try LivenessSequence.load(root: folder)
        guard let live = sequences.first(where: { $0.sequence.kind == "live" }) else { return nil }
        return live.sequence.frames.map { (live.path as NSString).appendingPathComponent($0) }
    }
}

extension JSONEncoder {
    static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }
}

extension EngineOptions {
    /// The options as command-line arguments, for the commands that reproduce a report.
    var arguments: [String] {
        var out: [String] = []
        if let modelDescriptor {
            out += ["--model-descriptor", modelDescriptor]
        } else if model != .sface {
            out += ["--model", model.rawValue]
        }
        if let upsample { out += ["--upsample", String(upsample)] }
        if let detectorInput { out += ["--detector-input", String(detectorInput)] }
        if mirrorTta { out.append("--mirror-tta") }
        if let jitters { out += ["--jitters", String(jitters)] }
        return out
    }
}

/// The privacy canary against a real server: `simverify serve` (this binary) on loopback in a
/// scratch folder, images marked with a unique marker sent over mutual TLS, then the server's log,
/// its files and its readable memory searched for the marker and for bytes of each file.
struct CanaryRun {
    var calls: [String] = []
    var scanned = 0
    var skippedRegions = 0
    var regions = 0
    var memoryHits: [String] = []
    var fileHits: [String] = []
    var problem: String?

    var passed: Bool { self.problem == nil && self.memoryHits.isEmpty && self.fileHits.isEmpty && !self.calls.isEmpty }

    var text: String {
        var lines =
            [
                "A server started from this binary on 127.0.0.1 (its own development PKI, audit keys and",
                "databases in a scratch folder) received these calls, each image carrying a unique marker:",
            ] + self.calls.map { "  " + $0 }
        if let problem { lines.append("NOT COMPLETED: \(problem)") }
        lines.append(
            "server memory read: \(self.scanned) bytes in \(self.regions) mappings (\(self.skippedRegions) address-space reservations over 64 GiB not read); copies of an image found: \(self.memoryHits.count)\(self.memoryHits.isEmpty ? "" : " at " + self.memoryHits.prefix(10).joined(separator: ", "))"
        )
        lines.append(
            "server files (log, audit log, sessions, keys) holding an image byte pattern: \(self.fileHits.isEmpty ? "none" : self.fileHits.joined(separator: ", "))"
        )
        lines.append(self.passed ? "PASSED: no image byte outlived its request." : "FAILED")
        return lines.joined(separator: "\n")
    }

    static func run(
        binary: String,
        pairs: [(String, String)],
        burst: [String]?,
        engine: EngineOptions,
        serverPolicy: MatchPolicy
    ) async -> CanaryRun {
        var result = CanaryRun()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("simverify-canary-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var server: Process?
        do {
            _ = try DevelopmentPKI().write(to: directory)
            try ServerSecrets.writeDevelopmentKeys(to: directory + "/keys.json", origin: "simverify.assess/canary")
            // The engine and policy of the assessment, but a one-frame Verify allowed (the canary
            // is about bytes, not liveness).
            var policy = serverPolicy
            policy.livenessRequired = false
            var engineSettings: [String: Any] = ["workers": 2, "model": policy.model.rawValue]
            if let descriptor = engine.modelDescriptor {
                engineSettings["modelDescriptor"] = URL(fileURLWithPath: descriptor).standardizedFileURL.path
            }
            if let models = engine.models {
                engineSettings["modelDirectory"] = URL(fileURLWithPath: models).standardizedFileURL.path
            }
            let configuration: [String: Any] = [
                "port": 0,
                "metrics": ["enabled": false],
                "tls": ["certificate": "server.pem", "privateKey": "server-key.pem", "clientCA": "ca.pem"],
                "policy": try JSONSerialization.jsonObject(with: JSONEncoder().encode(policy)),
                "engine": engineSettings,
                "audit": [
                    "databasePath": "data/audit.sqlite", "keysPath": "keys.json",
                    "sessionDatabasePath": "data/sessions.sqlite",
                ],
            ]
            try JSONSerialization.data(withJSONObject: configuration).write(
                to: URL(fileURLWithPath: directory + "/config.json")
            )
            let log = directory + "/server.log"
            FileManager.default.createFile(atPath: log, contents: nil)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = ["serve", "--config", directory + "/config.json"]
            process.currentDirectoryURL = URL(fileURLWithPath: directory)
            process.environment = ProcessInfo.processInfo.environment.merging(["OPENBLAS_NUM_THREADS": "1"]) { $1 }
            process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            server = process
            var port: Int?
            for _ in 0..<600 where port == nil {
                let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                if let line = text.split(separator: "\n").first(where: { $0.contains("listening") }),
                    let range = line.range(of: "port=")
                {
                    port = Int(line[range.upperBound...].prefix { $0.isNumber })
                }
                guard process.isRunning else { break }
                if port == nil { try await Task.sleep(for: .milliseconds(100)) }
            }
            guard let port else { throw SimverifyError(.invalidArgument, "the server did not start (its log: \(log))") }

            let marker = Array("SIMVERIFY-CANARY-\(UUID().uuidString)".utf8)
            var patterns: [[UInt8]] = [marker]
            func marked(_ path: String) throws -> ZeroizingBuffer {
                let bytes = PrivacyCanary.marked(
                    jpeg: try Array(Data(contentsOf: URL(fileURLWithPath: path))),
                    marker: marker
                )
                if let pattern = PrivacyCanary.compressedPattern(of: bytes) { patterns.append(pattern) }
                return bytes.withUnsafeBytes { ZeroizingBuffer(copying: $0) }
            }
            let client = try await SimverifyClient.connect(
                ClientConfiguration(
                    host: "127.0.0.1",
                    port: port,
                    certificate: directory + "/counter-carrier-a-store-0001.pem",
                    privateKey: directory + "/counter-carrier-a-store-0001-key.pem",
                    trustRoots: directory + "/ca.pem"
                )
            )
            for (a, b) in pairs {
                let answer = try await client.verify(
                    VerificationRequest(
                        idCardImage: try marked(a),
                        selfieFrames: [try marked(b)],
                        subject: SubjectReferences(nationalID: "880808-1234567"),
                        consentGiven: true
                    )
                )
                result.calls.append(
                    "Verify \((a as NSString).lastPathComponent) / \((b as NSString).lastPathComponent): \(answer.decision.rawValue)"
                )
            }
            if let burst, let first = pairs.first {
                let session = try await client.startSession()
                let answer = try await client.verify(
                    VerificationRequest(
                        idCardImage: try marked(first.0),
                        selfieFrames: try burst.map(marked),
                        consentGiven: true,
                        sessionToken: session.token
                    )
                )
                result.calls.append(
                    "StartSession, then Verify with a burst of \(burst.count) frames (against a challenge drawn at random, so any decision): \(answer.decision.rawValue)"
                )
            }
            await client.close()
            // As the canary test: what is kept is still there once the server has finished with
            // the answered calls; allow it a moment, then search.
            try await Task.sleep(for: .milliseconds(1500))
            let scan = try PrivacyCanary.scanMemory(ofProcess: process.processIdentifier, for: patterns)
            result.scanned = scan.scanned
            result.skippedRegions = scan.skippedRegions
            result.regions = scan.regions
            result.memoryHits = scan.hits
            result.fileHits = PrivacyCanary.files(under: directory, holding: patterns)
        } catch {
            result.problem = (error as? SimverifyError)?.description ?? "\(error)"
        }
        if let server, server.isRunning {
            server.terminate()
            while server.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
        }
        return result
    }
}
