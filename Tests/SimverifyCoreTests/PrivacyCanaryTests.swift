import Foundation
import SimverifyCore
import Testing

/// The canary's own tools must find what they look for, or a clean report would prove nothing.
@Suite struct PrivacyCanaryTests {
    @Test func aMarkedJPEGKeepsItsBytesAndCarriesTheMarker() {
        let jpeg: [UInt8] =
            [0xFF, 0xD8, 0xFF, 0xDB, 0x00, 0x04, 0x01, 0x02] + [UInt8](repeating: 7, count: 8) + [0xFF, 0xDA]
            + (0..<100).map { UInt8($0) } + [0xFF, 0xD9]
        let marker = Array("MARK".utf8)
        let marked = PrivacyCanary.marked(jpeg: jpeg, marker: marker)
        // SOI, then a COM segment (FF FE, length 6 = 4 + 2) with the marker, then the file's bytes.
        #expect(Array(marked[0..<8]) == [0xFF, 0xD8, 0xFF, 0xFE, 0x00, 0x06] + Array("MA".utf8))
        #expect(Array(marked[10...]) == Array(jpeg[2...]))
        // 32 bytes from the middle of what follows SOS.
        let pattern = PrivacyCanary.compressedPattern(of: jpeg)
        #expect(pattern?.count == 32)
        let scan = jpeg.firstIndex(of: 0xDA)! - 1
        let middle = (scan + jpeg.count) / 2
        #expect(pattern == Array(jpeg[middle..<(middle + 32)]))
        #expect(PrivacyCanary.compressedPattern(of: [0xFF, 0xD8, 1, 2, 3]) == nil)
    }

    @Test func theMemoryScanFindsPlantedCopies() throws {
        let needle = Array("CANARY-PLANT-\(UUID().uuidString)".utf8)
        // Every readable mapping is read, not only those in the first page of the map (the map
        // is taken first: the scan's own buffers may add mappings, never remove one).
        let maps = String(
            decoding: FileHandle(forReadingAtPath: "/proc/self/maps")!.readDataToEndOfFile(),
            as: UTF8.self
        )
        let readable = maps.split(separator: "\n").filter {
            $0.split(separator: " ", omittingEmptySubsequences: true)[1].hasPrefix("r") && !$0.hasSuffix("[vvar]")
                && !$0.hasSuffix("[vsyscall]")
        }.count
        let before = try PrivacyCanary.scanMemory(ofProcess: getpid(), for: [needle], maximumRegionBytes: 1 << 30)
        #expect(before.scanned > 1 << 20)
        #expect(
            readable > 60 && before.regions + before.skippedRegions >= readable * 9 / 10,
            "\(before.regions) read and \(before.skippedRegions) skipped of \(readable) readable mappings"
        )
        // Three copies in three shared pages of their own (mapped here, not taken from the
        // allocator, and shared so that the kernel cannot merge them into a neighbouring mapping:
        // under AddressSanitizer the heap and its neighbours are reservations the scan skips).
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let planted = (0..<3).map { _ in
            let memory = mmap(nil, page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0)!
            let bytes = memory.bindMemory(to: UInt8.self, capacity: page)
            for (i, byte) in needle.enumerated() { bytes[100 + i] = byte }
            return memory
        }
        defer { for memory in planted { munmap(memory, page) } }
        let after = try PrivacyCanary.scanMemory(ofProcess: getpid(), for: [needle], maximumRegionBytes: 1 << 30)
        // Each planted copy is found at its own address (counting all hits would be upset by the
        // transient copies other tests' threads make and free between the two scans).
        let found = Set(after.hits.map { String($0.prefix { $0 != " " }) })
        for memory in planted {
            let address = String(format: "0x%llx", UInt64(UInt(bitPattern: memory)) + 100)
            #expect(
                found.contains(address),
                "the copy at \(address) was not found; \(after.hits.count) hits: \(after.hits)"
            )
        }
    }

    @Test func filesHoldingAPatternAreNamed() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("canary-files-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory + "/sub", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Data("nothing here".utf8).write(to: URL(fileURLWithPath: directory + "/a.log"))
        try Data("xxMARKERxx".utf8).write(to: URL(fileURLWithPath: directory + "/sub/b.sqlite"))
        #expect(PrivacyCanary.files(under: directory, holding: [Array("MARKER".utf8)]) == ["sub/b.sqlite"])
    }
}
