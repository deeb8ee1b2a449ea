import Foundation

/// The published test vectors in ../shared/vectors (read from there, never copied).
enum Vectors {
    static let root: String = {
        if let explicit = ProcessInfo.processInfo.environment["SIMVERIFY_SHARED"], !explicit.isEmpty {
            return explicit + "/vectors"
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/vectors").path
    }()

    /// Every JSON file under a folder, recursively, as (relative path, object).
    static func jsonFiles(under folder: String) throws -> [(String, [String: Any])] {
        let base = root + "/" + folder
        let enumerator = FileManager.default.enumerator(atPath: base)
        var files: [(String, [String: Any])] = []
        while let path = enumerator?.nextObject() as? String {
            guard path.hasSuffix(".json") else { continue }
            let data = try Data(contentsOf: URL(fileURLWithPath: base + "/" + path))
            files.append((path, try JSONSerialization.jsonObject(with: data) as! [String: Any]))
        }
        return files.sorted { $0.0 < $1.0 }
    }

    static func json(_ path: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: root + "/" + path)))
            as! [String: Any]
    }

    static func b64(_ value: Any?) -> [UInt8] {
        guard let text = value as? String else { return [] }
        return Array(Data(base64Encoded: text) ?? Data())
    }

    static func hex(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            bytes.append(UInt8(text[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }
}
