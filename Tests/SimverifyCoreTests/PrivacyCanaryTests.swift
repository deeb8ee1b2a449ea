import Foundation
import SimverifyCore
import Testing

/// The canary's own tools must find what they look for, or a clean report would prove nothing.
@Suite struct PrivacyCanaryTests {
    @Test func aMarkedJPEGKeepsItsBytesAndCarriesTheMarker() {
        let jpeg: [UInt8] = [0xFF, 0xD8, 0xFF, 0xDB, 0x00, 0x04, 0x01, 0x02] + [UInt8](repeating: 7, count: 8) + [0xFF, 0xDA] + (0..<100).map { UInt8($0) } + [0xFF, 0xD9]
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
        let before = try PrivacyCanary.scanMemory(ofProcess: getpid(), for: [needle])
        #expect(before.scanned > 1 << 20)
        // Three copies in three heap buffers, built byte by byte so that they are new memory.
        let planted = (0..<3).map { _ in
            let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: needle.count)
            for (i, byte) in needle.enumerated() { buffer[i] = byte }
            return buffer
        }
        defer { for buffer in planted { buffer.deallocate() } }
        let after = try PrivacyCanary.scanMemory(ofProcess: getpid(), for: [needle])
        #expect(after.hits.count >= before.hits.count + 3, "\(before.hits.count) hits before, \(after.hits.count) after planting 3")
        withExtendedLifetime(planted) {}
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
