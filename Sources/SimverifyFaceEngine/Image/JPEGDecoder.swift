import CSimverifyJPEG
import SimverifyCore

/// Decodes JPEG bytes to upright RGB pixels with libjpeg-turbo, within `JPEGDecodingLimits`.
///
/// Baseline and progressive; greyscale, YCbCr, RGB, CMYK and YCCK all come out as RGB. The EXIF
/// orientation is applied. Every failure is a `FaceEngineError`; every intermediate pixel buffer
/// is zeroed before release.
public struct JPEGDecoder: Sendable {
    /// The limits checked before and during decoding.
    public var limits: JPEGDecodingLimits

    /// Creates a decoder.
    public init(limits: JPEGDecodingLimits = .standard) {
        self.limits = limits
    }

    /// What the header says, read without decoding any pixel.
    public struct Header: Sendable, Hashable {
        /// Width at full scale, as stored (before EXIF orientation).
        public var width: Int
        /// Height at full scale, as stored.
        public var height: Int
        /// Colour components in the file: 1, 3 or 4.
        public var components: Int
        /// True for progressive JPEGs.
        public var progressive: Bool
        /// The EXIF orientation, 1-8.
        public var orientation: Int
    }

    /// Reads and checks the header.
    /// - Throws: `FaceEngineError` (`.emptyImage`, `.notJPEG`, `.truncatedImage`, `.corruptImage`,
    ///   `.imageTooLarge`).
    public func header(of bytes: UnsafeRawBufferPointer) throws -> Header {
        guard bytes.count > 0 else { throw FaceEngineError(.emptyImage, "the image is empty") }
        guard bytes.count >= 4, bytes[0] == 0xFF, bytes[1] == 0xD8 else {
            throw FaceEngineError(.notJPEG, "the image is not a JPEG (no SOI marker)")
        }
        var raw = sv_jpeg_header()
        let status = sv_jpeg_read_header(bytes.baseAddress, bytes.count, &raw)
        guard status == SV_JPEG_OK else { throw Self.error(for: status) }
        let header = Header(
            width: Int(raw.width),
            height: Int(raw.height),
            components: Int(raw.components),
            progressive: raw.progressive != 0,
            orientation: EXIFOrientation.read(fromJPEG: bytes)
        )
        guard header.width > 0, header.height > 0 else {
            throw FaceEngineError(.corruptImage, "the JPEG header declares an empty image")
        }
        guard header.width * header.height <= self.limits.maxPixels else {
            throw FaceEngineError(
                .imageTooLarge,
                "the JPEG header declares \(header.width)x\(header.height), over the limit of \(self.limits.maxPixels) pixels"
            )
        }
        return header
    }

    /// The scale denominator (1, 2, 4 or 8) that keeps the long side within the limit.
    func scaleDenominator(for header: Header) -> UInt32 {
        let longSide = max(header.width, header.height)
        for denominator: UInt32 in [1, 2, 4]
        where (longSide + Int(denominator) - 1) / Int(denominator) <= self.limits.maxDecodedLongSide {
            return denominator
        }
        return 8
    }

    /// Decodes `bytes` to upright RGB.
    /// - Throws: `FaceEngineError` with an image code; never a partial image.
    public func decode(_ bytes: UnsafeRawBufferPointer) throws -> RGBImage {
        let header = try self.header(of: bytes)
        var raw = sv_jpeg_header(
            width: UInt32(header.width),
            height: UInt32(header.height),
            components: Int32(header.components),
            color: 0,
            progressive: header.progressive ? 1 : 0
        )
        let denominator = self.scaleDenominator(for: header)
        var width: UInt32 = 0
        var height: UInt32 = 0
        sv_jpeg_scaled_size(&raw, denominator, &width, &height)
        let stored = ZeroizingBuffer(count: Int(width) * Int(height) * 3)
        var options = sv_jpeg_decode_options(
            max_scans: UInt32(clamping: self.limits.maxScans),
            max_memory: UInt64(clamping: self.limits.maxDecoderMemory),
            scale_denominator: denominator
        )
        let status = stored.withUnsafeMutableBytes { out in
            sv_jpeg_decode_rgb(bytes.baseAddress, bytes.count, &options, out.baseAddress, out.count)
        }
        guard status == SV_JPEG_OK else { throw Self.error(for: status) }
        let image = try RGBImage(width: Int(width), height: Int(height), pixels: stored)
        return try image.reoriented(header.orientation)
    }

    /// Decodes the bytes held in a zeroizing buffer.
    public func decode(_ bytes: ZeroizingBuffer) throws -> RGBImage {
        try bytes.withUnsafeBytes { try self.decode($0) }
    }

    static func error(for status: sv_jpeg_status) -> FaceEngineError {
        switch status {
        case SV_JPEG_ERR_NOT_JPEG: FaceEngineError(.notJPEG, "the image is not a JPEG")
        case SV_JPEG_ERR_TRUNCATED: FaceEngineError(.truncatedImage, "the JPEG data ends before the image does")
        case SV_JPEG_ERR_UNSUPPORTED: FaceEngineError(.unsupportedImage, "the JPEG uses a feature the decoder refuses")
        case SV_JPEG_ERR_TOO_MANY_SCANS: FaceEngineError(.tooManyScans, "the progressive JPEG has too many scans")
        case SV_JPEG_ERR_OUT_OF_MEMORY:
            FaceEngineError(.decoderMemoryLimit, "decoding the JPEG would exceed the decoder memory limit")
        case SV_JPEG_ERR_BAD_ARGUMENT: FaceEngineError(.internalError, "decoder buffer mismatch")
        default: FaceEngineError(.corruptImage, "the JPEG data is corrupt")
        }
    }
}

extension RGBImage {
    /// This image turned upright per an EXIF orientation value (1 returns `self`).
    func reoriented(_ orientation: Int) throws -> RGBImage {
        guard (2...8).contains(orientation) else { return self }
        let swapped = orientation >= 5
        let turned = ZeroizingBuffer(count: self.pixels.count)
        self.pixels.withUnsafeBytes { source in
            turned.withUnsafeMutableBytes { target in
                sv_rgb_reorient(
                    source.baseAddress!.assumingMemoryBound(to: UInt8.self),
                    UInt32(self.width),
                    UInt32(self.height),
                    Int32(orientation),
                    target.baseAddress!.assumingMemoryBound(to: UInt8.self)
                )
            }
        }
        return try RGBImage(
            width: swapped ? self.height : self.width,
            height: swapped ? self.width : self.height,
            pixels: turned
        )
    }
}

extension JPEGDecoder {
    /// Decodes, adding the time taken to `timings.decode`.
    func decode(_ jpeg: ZeroizingBuffer, timings: inout StageTimings) throws -> RGBImage {
        let clock = ContinuousClock()
        let start = clock.now
        defer { timings.decode += clock.now - start }
        return try self.decode(jpeg)
    }
}
