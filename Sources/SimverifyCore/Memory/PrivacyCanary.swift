import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The privacy canary's tools (DESIGN.md invariants 1 and 2): images marked so that any copy of
/// them can be found again, and the search for those copies in a process's readable memory and in
/// files. The canary test and `simverify assess` run a real server with them.
public enum PrivacyCanary {
    /// A JPEG with a COM segment holding `marker` right after SOI: the same picture, bytes that
    /// no other image carries.
    public static func marked(jpeg bytes: [UInt8], marker: [UInt8]) -> [UInt8] {
        precondition(bytes.count > 2 && marker.count <= 65_533)
        let length = marker.count + 2
        return Array(bytes[0..<2]) + [0xFF, 0xFE, UInt8(length >> 8), UInt8(length & 0xFF)] + marker
            + Array(bytes[2...])
    }

    /// 32 bytes from the middle of a JPEG's entropy-coded data: present only where the file's
    /// bytes are (a decoded picture does not hold them). Nil when the file has no scan.
    public static func compressedPattern(of jpeg: [UInt8]) -> [UInt8]? {
        guard jpeg.count > 4,
            let scan = (2..<(jpeg.count - 1)).first(where: { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xDA })
        else { return nil }
        let middle = (scan + jpeg.count) / 2
        guard middle + 32 <= jpeg.count else { return nil }
        return Array(jpeg[middle..<(middle + 32)])
    }

    /// A search of a process's readable memory.
    public struct MemoryScan: Sendable {
        /// Bytes read.
        public var scanned: Int
        /// Every place a pattern occurs: "address (region)".
        public var hits: [String]
        /// Mappings left unread for their size (address-space reservations, e.g. a sanitizer's shadow).
        public var skippedRegions: Int = 0
        /// Mappings read.
        public var regions: Int = 0
    }

    /// Every place one of `patterns` occurs in the readable memory of process `pid` (through
    /// /proc/PID/mem: the caller needs the right to trace it, e.g. root for a non-dumpable server).
    /// A mapping larger than `maximumRegionBytes` is not read but counted: no heap of ours is that
    /// large, while AddressSanitizer's and ThreadSanitizer's shadow reservations are terabytes.
    public static func scanMemory(
        ofProcess pid: Int32,
        for patterns: [[UInt8]],
        maximumRegionBytes: UInt64 = 64 << 30
    ) throws -> MemoryScan {
        // Read to its end: String(contentsOfFile:) stops after the first 4 KiB of a procfs file
        // (its size reads as 0), which left every mapping after the first ~40 unscanned.
        guard let handle = FileHandle(forReadingAtPath: "/proc/\(pid)/maps") else {
            throw SimverifyError(.permissionDenied, "cannot read the memory map of process \(pid)")
        }
        let maps = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
        try? handle.close()
        let memory = open("/proc/\(pid)/mem", O_RDONLY)
        guard memory >= 0 else {
            throw SimverifyError(
                .permissionDenied,
                "cannot read the memory of process \(pid): \(String(cString: strerror(errno)))"
            )
        }
        defer { close(memory) }
        let needles = patterns.map { Data($0) }
        var scan = MemoryScan(scanned: 0, hits: [])
        for line in maps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2, fields[1].hasPrefix("r") else { continue }
            let range = fields[0].split(separator: "-").compactMap { UInt64($0, radix: 16) }
            guard range.count == 2, !line.hasSuffix("[vvar]"), !line.hasSuffix("[vsyscall]") else { continue }
            guard range[1] - range[0] <= maximumRegionBytes else {
                scan.skippedRegions += 1
                continue
            }
            scan.regions += 1
            var offset = range[0]
            let chunk: UInt64 = 16 << 20
            while offset < range[1] {
                // Chunks overlap by 64 bytes so that a pattern across a boundary is found.
                let length = Int(min(chunk + 64, range[1] - offset))
                var buffer = [UInt8](repeating: 0, count: length)
                let read = buffer.withUnsafeMutableBytes {
                    pread(memory, $0.baseAddress, length, off_t(Int64(bitPattern: offset)))
                }
                if read > 0 {
                    scan.scanned += read
                    let data = Data(buffer[0..<read])
                    for needle in needles {
                        var searchStart = data.startIndex
                        while let hit = data.range(of: needle, in: searchStart..<data.endIndex) {
                            scan.hits.append(
                                String(format: "0x%llx", offset + UInt64(hit.lowerBound)) + " in "
                                    + String(line.dropFirst(fields[0].count))
                            )
                            searchStart = hit.upperBound
                        }
                    }
                }
                offset += chunk
            }
        }
        return scan
    }

    /// The files under `directory` (recursively) holding one of `patterns`.
    public static func files(under directory: String, holding patterns: [[UInt8]]) -> [String] {
        var found: [String] = []
        let enumerator = FileManager.default.enumerator(atPath: directory)
        while let path = enumerator?.nextObject() as? String {
            let data = (try? Data(contentsOf: URL(fileURLWithPath: directory + "/" + path))) ?? Data()
            if patterns.contains(where: { data.range(of: Data($0)) != nil }) { found.append(path) }
        }
        return found.sorted()
    }
}
