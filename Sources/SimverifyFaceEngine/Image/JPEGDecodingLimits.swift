/// Bounds on what the JPEG decoder accepts, checked against the header before any pixel is decoded.
public struct JPEGDecodingLimits: Sendable, Hashable {
    /// Images declaring more pixels than this (width x height at full scale) are refused.
    public var maxPixels: Int
    /// Longest side the decoder produces: larger images are decoded at 1/2, 1/4 or 1/8 scale
    /// (libjpeg's DCT scaling, nearly free), never above this unless 1/8 is still larger.
    public var maxDecodedLongSide: Int
    /// Progressive images with more scans than this are refused (a valid one has at most ~10).
    public var maxScans: Int
    /// libjpeg's own working memory (progressive coefficient buffers), in bytes.
    public var maxDecoderMemory: Int

    /// Limits for photos from phones and ID-card scanners: up to 25 MP, decoded to at most
    /// 1600 px on the long side, 64 scans, 256 MiB of decoder memory.
    public static let standard = JPEGDecodingLimits(
        maxPixels: 25_000_000,
        maxDecodedLongSide: 1600,
        maxScans: 64,
        maxDecoderMemory: 256 << 20
    )

    /// Creates limits.
    public init(maxPixels: Int, maxDecodedLongSide: Int, maxScans: Int, maxDecoderMemory: Int) {
        self.maxPixels = maxPixels
        self.maxDecodedLongSide = maxDecodedLongSide
        self.maxScans = maxScans
        self.maxDecoderMemory = maxDecoderMemory
    }
}
