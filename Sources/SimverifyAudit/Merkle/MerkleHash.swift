import Crypto

/// RFC 6962 hashing: SHA-256 with domain separation between leaves and interior nodes.
public enum MerkleHash {
    /// Bytes in a hash.
    public static let size = 32

    /// The hash of the empty tree: SHA-256 of nothing.
    public static let emptyRoot: [UInt8] = Array(SHA256.hash(data: [UInt8]()))

    /// SHA-256(0x00 ‖ data).
    public static func leaf(_ data: some Sequence<UInt8>) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: [0x00])
        hasher.update(data: Array(data))
        return Array(hasher.finalize())
    }

    /// SHA-256(0x01 ‖ left ‖ right).
    public static func node(_ left: some Sequence<UInt8>, _ right: some Sequence<UInt8>) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: [0x01])
        hasher.update(data: Array(left))
        hasher.update(data: Array(right))
        return Array(hasher.finalize())
    }

    /// The largest power of two smaller than `n` (n > 1).
    static func split(_ n: UInt64) -> UInt64 {
        precondition(n > 1)
        var k: UInt64 = 1
        while k << 1 < n { k <<= 1 }
        return k
    }
}
