import SimverifyCore

/// A point in pixels, sub-pixel precise.
public struct Point2: Sendable, Hashable {
    /// Column.
    public var x: Double
    /// Row.
    public var y: Double

    /// Creates a point.
    public init(x: Double, y: Double) {
        self.x = x
        self.y = y
    }
}

/// 8-bit grey pixels derived from a frame, in a zeroizing buffer: biometric data that is dropped
/// (and zeroed) with the observation, like the frame it came from.
public struct GreyImage: Sendable {
    /// Width in pixels.
    public let width: Int
    /// Height in pixels.
    public let height: Int
    /// Row-major pixels, `width * height` bytes.
    public let pixels: ZeroizingBuffer

    /// Wraps pixels.
    public init(width: Int, height: Int, pixels: ZeroizingBuffer) {
        precondition(width > 0 && height > 0 && pixels.count == width * height, "grey image size mismatch")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Creates an image from bytes (tests).
    public init(width: Int, height: Int, bytes: [UInt8]) {
        self.init(width: width, height: height, pixels: bytes.withUnsafeBytes { ZeroizingBuffer(copying: $0) })
    }

    /// Mean absolute difference of two images of one size, in grey levels.
    public func meanAbsoluteDifference(to other: GreyImage) -> Double {
        guard self.width == other.width, self.height == other.height else { return .infinity }
        return self.pixels.withUnsafeBytes { a in
            other.pixels.withUnsafeBytes { b in
                var sum = 0
                for i in 0..<a.count { sum += abs(Int(a[i]) - Int(b[i])) }
                return Double(sum) / Double(a.count)
            }
        }
    }
}
