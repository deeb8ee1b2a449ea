import SimverifyCore

/// Decoded pixels: packed 8-bit RGB, rows of `width * 3` bytes, in a zeroizing buffer.
public final class RGBImage: Sendable {
    /// Width in pixels.
    public let width: Int
    /// Height in pixels.
    public let height: Int
    /// The pixels; zeroed when the last reference goes.
    public let pixels: ZeroizingBuffer

    /// Wraps pixels already in a zeroizing buffer.
    /// - Throws: `FaceEngineError` `.invalidArgument` when the buffer is not `width * height * 3` bytes.
    public init(width: Int, height: Int, pixels: ZeroizingBuffer) throws {
        guard width > 0, height > 0, width <= 1 << 16, height <= 1 << 16, pixels.count == width * height * 3 else {
            throw FaceEngineError(.invalidArgument, "pixel buffer does not match \(width)x\(height) RGB")
        }
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Bytes per row.
    public var stride: Int { self.width * 3 }
}
