import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Bytes that are overwritten with zeros before their memory is released.
///
/// Raw image bytes and decoded pixels live only in buffers of this type (DESIGN.md, invariant 1).
/// The buffer is written by its one owner before it is shared; after that it is only read, which
/// is what makes the `Sendable` conformance sound.
public final class ZeroizingBuffer: @unchecked Sendable {
    /// The number of bytes.
    public let count: Int
    private let base: UnsafeMutableRawPointer
    private let locked: Bool

    /// When true (set once at server start), new buffers are locked in RAM with `mlock` so that
    /// image bytes are never written to swap. Off by default: tools and tests do not need it.
    public static let lockPages = Atomic<Bool>(false)
    /// Buffers that could not be locked (RLIMIT_MEMLOCK too low); they still work, unlocked.
    public static let lockFailures = Atomic<Int>(0)

    /// Allocates `count` zeroed bytes.
    /// - Parameter count: The size in bytes; must not be negative.
    public init(count: Int) {
        precondition(count >= 0, "negative buffer size")
        self.count = count
        self.base = UnsafeMutableRawPointer.allocate(byteCount: Swift.max(count, 1), alignment: 16)
        self.base.initializeMemory(as: UInt8.self, repeating: 0, count: Swift.max(count, 1))
        if Self.lockPages.load(ordering: .relaxed) {
            #if canImport(Glibc)
            self.locked = mlock(self.base, Swift.max(count, 1)) == 0
            #else
            self.locked = false
            #endif
            if !self.locked { Self.lockFailures.add(1, ordering: .relaxed) }
        } else {
            self.locked = false
        }
    }

    /// Allocates a buffer holding a copy of `bytes`.
    /// - Parameter bytes: The bytes to copy. The caller remains responsible for its own copy.
    public convenience init(copying bytes: UnsafeRawBufferPointer) {
        self.init(count: bytes.count)
        if let source = bytes.baseAddress, bytes.count > 0 {
            self.base.copyMemory(from: source, byteCount: bytes.count)
        }
    }

    deinit {
        self.zeroize()
        #if canImport(Glibc)
        if self.locked { munlock(self.base, Swift.max(self.count, 1)) }
        #endif
        self.base.deallocate()
    }

    /// Calls `body` with the bytes, read-only. The pointer must not escape `body`.
    public func withUnsafeBytes<Result>(
        _ body: (UnsafeRawBufferPointer) throws -> Result
    ) rethrows -> Result {
        try body(UnsafeRawBufferPointer(start: self.base, count: self.count))
    }

    /// Calls `body` with the bytes, writable. Only the buffer's owner may write, before sharing it.
    public func withUnsafeMutableBytes<Result>(
        _ body: (UnsafeMutableRawBufferPointer) throws -> Result
    ) rethrows -> Result {
        try body(UnsafeMutableRawBufferPointer(start: self.base, count: self.count))
    }

    /// Overwrites every byte with zero now, in a way the compiler may not elide.
    public func zeroize() {
        #if canImport(Glibc)
        explicit_bzero(self.base, Swift.max(self.count, 1))
        #else
        memset_s(self.base, Swift.max(self.count, 1), 0, Swift.max(self.count, 1))
        #endif
    }
}
