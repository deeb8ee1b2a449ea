import ArgumentParser
import Foundation

/// A tab-separated table with a header row and a key column (`file` in
/// ../shared/fixtures/faces-ea/MANIFEST.tsv, `sequence` in the liveness manifests); lines
/// starting with # are comments.
package struct Manifest {
    package var key: String
    package var header: [String]
    /// Every row as column name to value.
    package var records: [[String: String]]

    package init(path: String, key: String = "file") throws {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ValidationError("cannot read \(path)")
        }
        let lines = text.split(whereSeparator: \.isNewline).map(String.init).filter {
            !$0.isEmpty && !$0.hasPrefix("#")
        }
        guard let header = lines.first?.split(separator: "\t", omittingEmptySubsequences: false).map(String.init),
            header.contains(key)
        else {
            throw ValidationError("\(path): the header must name a \(key) column")
        }
        self.key = key
        self.header = header
        self.records = lines.dropFirst().map { line in
            Dictionary(
                zip(header, line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)),
                uniquingKeysWith: { a, _ in a }
            )
        }
    }

    /// Each key's value in `name`.
    package func column(_ name: String) throws -> [String: String] {
        guard self.header.contains(name) else {
            throw ValidationError("the manifest has no column \(name) (it has \(self.header.joined(separator: ", ")))")
        }
        var values: [String: String] = [:]
        for record in self.records {
            if let key = record[self.key], let value = record[name], !value.isEmpty { values[key] = value }
        }
        return values
    }
}
