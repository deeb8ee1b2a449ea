import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A `simverify serve` process (the real binary), for tests that kill it or read its memory.
final class ServerProcess: Sendable {
    let process: Process
    let log: String
    let port: Int

    init(directory: String, config: String) async throws {
        let binary = Paths.repository + "/.build/debug/simverify"
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw TestError("build simverify first (swift build)")
        }
        let log = directory + "/server-\(UUID()).log"
        FileManager.default.createFile(atPath: log, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["serve", "--config", config]
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.environment = ProcessInfo.processInfo.environment.merging(["OPENBLAS_NUM_THREADS": "1"]) { $1 }
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        var port: Int?
        for _ in 0..<300 {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.contains("listening") }),
                let range = line.range(of: "port=")
            {
                port = Int(line[range.upperBound...].prefix { $0.isNumber })
                break
            }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        guard let port else {
            process.terminate()
            throw TestError("the server did not start: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        }
        self.process = process
        self.log = log
        self.port = port
    }

    func kill9() async {
        kill(self.process.processIdentifier, SIGKILL)
        while self.process.isRunning { try? await Task.sleep(for: .milliseconds(10)) }
    }

    func stop() async -> Int32 {
        self.process.terminate()
        while self.process.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
        return self.process.terminationStatus
    }
}
