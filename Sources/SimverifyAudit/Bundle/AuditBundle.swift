import Foundation

/// A regulator's local copy of the log, verifiable with nothing but the log's public key.
///
/// A directory holding `log.vkey` (the log's verifier key), `entries.bin` (each record as a
/// 4-byte big-endian length and its canonical bytes), `leafhashes.bin` (the 32-byte RFC 6962
/// leaf hash of each record, recorded when it was pulled and checked against a signed root) and
/// `checkpoints/SIZE.note` (every checkpoint kept, exact bytes). docs/AUDIT.md describes it.
public struct AuditBundle: Sendable {
    /// The bundle's directory.
    public let directory: String
    /// The log's verifier key.
    public let verifier: NoteVerifier

    /// Opens a bundle, creating it with `vkey` if the directory has none.
    /// - Throws: `AuditError` `.malformedKey` for a bad vkey, or when `vkey` differs from the
    ///   bundle's own.
    public init(directory: String, vkey: String? = nil) throws {
        let fm = FileManager.default
        let keyPath = directory + "/log.vkey"
        if let existing = try? String(contentsOfFile: keyPath, encoding: .utf8) {
            let verifier = try NoteVerifier(vkey: existing.trimmingCharacters(in: .whitespacesAndNewlines))
            if let vkey, try NoteVerifier(vkey: vkey) != verifier {
                throw AuditError(.malformedKey, "the bundle belongs to another log key (\(verifier.name))")
            }
            self.verifier = verifier
        } else {
            guard let vkey else { throw AuditError(.malformedKey, "no log.vkey in \(directory): give the log's vkey") }
            self.verifier = try NoteVerifier(vkey: vkey)
            try fm.createDirectory(atPath: directory + "/checkpoints", withIntermediateDirectories: true)
            try (vkey + "\n").write(toFile: keyPath, atomically: true, encoding: .utf8)
            _ = fm.createFile(atPath: directory + "/entries.bin", contents: nil)
            _ = fm.createFile(atPath: directory + "/leafhashes.bin", contents: nil)
        }
        self.directory = directory
    }

    var entriesPath: String { self.directory + "/entries.bin" }
    var leafHashesPath: String { self.directory + "/leafhashes.bin" }
    var checkpointsPath: String { self.directory + "/checkpoints" }

    /// Entries held.
    public var entryCount: UInt64 {
        let size =
            (try? FileManager.default.attributesOfItem(atPath: self.leafHashesPath)[.size] as? NSNumber)?.uint64Value
            ?? 0
        return size / 32
    }

    /// Every kept checkpoint note, by size.
    public func checkpointNotes() throws -> [(size: UInt64, note: [UInt8])] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: self.checkpointsPath)) ?? []
        return try names.compactMap { name -> (UInt64, [UInt8])? in
            guard name.hasSuffix(".note"), let size = UInt64(name.dropLast(5)) else { return nil }
            return (size, Array(try Data(contentsOf: URL(fileURLWithPath: self.checkpointsPath + "/" + name))))
        }.sorted { $0.0 < $1.0 }
    }

    /// The largest kept checkpoint, verified.
    public func latestCheckpoint() throws -> Checkpoint? {
        try self.checkpointNotes().last.map { try Checkpoint.open($0.note, verifier: self.verifier) }
    }

    /// The stored leaf hashes as a tree.
    func tree(progress: ((UInt64, UInt64) -> Void)? = nil) throws -> MerkleTree {
        let data = try Data(contentsOf: URL(fileURLWithPath: self.leafHashesPath), options: .alwaysMapped)
        var tree = MerkleTree()
        let count = UInt64(data.count / 32)
        data.withUnsafeBytes { raw in
            for i in 0..<Int(count) {
                tree.append(leafHash: Array(raw[(i * 32)..<((i + 1) * 32)]))
                if i % 65536 == 0 { progress?(UInt64(i), count) }
            }
        }
        return tree
    }
}
