/// The EXIF orientation tag (TIFF tag 0x0112) of a JPEG: how to turn the stored pixels upright.
///
/// libjpeg does not apply it, so the engine does, after decoding. Values 1-8 as in EXIF 2.32;
/// anything absent, unreadable or out of range counts as 1 (already upright).
public enum EXIFOrientation {
    /// Reads the orientation from the APP1 "Exif" segment before the first scan.
    /// Every read is bounds-checked; malformed EXIF yields 1, never an error.
    public static func read(fromJPEG bytes: UnsafeRawBufferPointer) -> Int {
        var offset = 2  // after SOI
        guard bytes.count >= 4, bytes[0] == 0xFF, bytes[1] == 0xD8 else { return 1 }
        while offset + 4 <= bytes.count {
            guard bytes[offset] == 0xFF else { return 1 }
            let marker = bytes[offset + 1]
            if marker == 0xFF {  // fill byte
                offset += 1
                continue
            }
            if marker == 0xD8 || marker == 0x01 || (0xD0...0xD7).contains(marker) {
                offset += 2
                continue
            }
            if marker == 0xDA || marker == 0xD9 { return 1 }  // scan data or end: no EXIF before it
            let length = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            guard length >= 2, offset + 2 + length <= bytes.count else { return 1 }
            let body = UnsafeRawBufferPointer(rebasing: bytes[(offset + 4)..<(offset + 2 + length)])
            if marker == 0xE1, let value = Self.orientation(inAPP1: body) { return value }
            offset += 2 + length
        }
        return 1
    }

    private static func orientation(inAPP1 body: UnsafeRawBufferPointer) -> Int? {
        let signature: [UInt8] = [0x45, 0x78, 0x69, 0x66, 0, 0]  // "Exif\0\0"
        guard body.count >= 6 + 8, signature.indices.allSatisfy({ body[$0] == signature[$0] }) else { return nil }
        let tiff = UnsafeRawBufferPointer(rebasing: body[6...])
        let littleEndian: Bool
        switch (tiff[0], tiff[1]) {
        case (0x49, 0x49): littleEndian = true
        case (0x4D, 0x4D): littleEndian = false
        default: return nil
        }
        func u16(_ at: Int) -> Int? {
            guard at >= 0, at + 2 <= tiff.count else { return nil }
            let a = Int(tiff[at])
            let b = Int(tiff[at + 1])
            return littleEndian ? a | b << 8 : a << 8 | b
        }
        func u32(_ at: Int) -> Int? {
            guard let low = u16(littleEndian ? at : at + 2), let high = u16(littleEndian ? at + 2 : at) else {
                return nil
            }
            return high << 16 | low
        }
        guard u16(2) == 42, let ifd = u32(4), let entries = u16(ifd) else { return nil }
        for i in 0..<entries {
            let entry = ifd + 2 + i * 12
            guard let tag = u16(entry) else { return nil }
            guard tag == 0x0112 else { continue }
            guard u16(entry + 2) == 3, let value = u16(entry + 8) else { return nil }  // SHORT
            return (1...8).contains(value) ? value : 1
        }
        return nil
    }
}
