/// An append-only RFC 6962 Merkle tree over leaf hashes, kept in memory as the hashes of every
/// complete aligned subtree (about 2 × 32 bytes per leaf), so that any root, inclusion proof and
/// consistency proof for any earlier size is computed in O(log² n) hashes.
public struct MerkleTree: Sendable {
    /// `levels[k]` holds, back to back, the 32-byte hashes of the complete subtrees of 2^k leaves.
    private var levels: [[UInt8]] = [[]]

    /// Creates an empty tree.
    public init() {}

    /// The number of leaves.
    public var size: UInt64 { UInt64(self.levels[0].count / MerkleHash.size) }

    /// Appends a leaf hash (already `MerkleHash.leaf` of the entry).
    public mutating func append(leafHash: [UInt8]) {
        precondition(leafHash.count == MerkleHash.size, "a leaf hash has 32 bytes")
        self.levels[0].append(contentsOf: leafHash)
        var level = 0
        var count = self.levels[0].count / MerkleHash.size
        // Each time a level gets an even count, the last two form a complete subtree one level up.
        while count % 2 == 0 {
            let left = self.hash(level: level, index: count - 2)
            let right = self.hash(level: level, index: count - 1)
            if self.levels.count == level + 1 { self.levels.append([]) }
            self.levels[level + 1].append(contentsOf: MerkleHash.node(left, right))
            level += 1
            count = self.levels[level].count / MerkleHash.size
        }
    }

    /// The leaf hash at `index`.
    public func leafHash(at index: UInt64) -> [UInt8] {
        self.hash(level: 0, index: Int(index))
    }

    /// The root of the first `size` leaves (the current size by default).
    public func root(size: UInt64? = nil) -> [UInt8] {
        let n = size ?? self.size
        precondition(n <= self.size, "size beyond the tree")
        return n == 0 ? MerkleHash.emptyRoot : self.subtree(0, n)
    }

    /// The RFC 6962 audit path of leaf `index` in the tree of the first `size` leaves.
    public func inclusionProof(index: UInt64, size: UInt64) -> [[UInt8]] {
        precondition(index < size && size <= self.size, "index or size out of range")
        return self.path(index, 0, size)
    }

    /// The RFC 6962 consistency proof from the first `from` leaves to the first `to` leaves.
    public func consistencyProof(from: UInt64, to: UInt64) -> [[UInt8]] {
        precondition(from <= to && to <= self.size, "sizes out of range")
        guard from > 0, from < to else { return [] }
        return self.subproof(from, 0, to, true)
    }

    // MARK: RFC 6962 §2.1 definitions over [start, end)

    private func hash(level: Int, index: Int) -> [UInt8] {
        Array(self.levels[level][(index * MerkleHash.size)..<((index + 1) * MerkleHash.size)])
    }

    /// MTH(D[start:end]).
    private func subtree(_ start: UInt64, _ end: UInt64) -> [UInt8] {
        let n = end - start
        if n & (n - 1) == 0 && start % n == 0 {  // a complete aligned subtree: stored
            let level = n.trailingZeroBitCount
            return self.hash(level: level, index: Int(start >> UInt64(level)))
        }
        let k = MerkleHash.split(n)
        return MerkleHash.node(self.subtree(start, start + k), self.subtree(start + k, end))
    }

    private func path(_ m: UInt64, _ start: UInt64, _ end: UInt64) -> [[UInt8]] {
        let n = end - start
        guard n > 1 else { return [] }
        let k = MerkleHash.split(n)
        if m < k {
            return self.path(m, start, start + k) + [self.subtree(start + k, end)]
        }
        return self.path(m - k, start + k, end) + [self.subtree(start, start + k)]
    }

    private func subproof(_ m: UInt64, _ start: UInt64, _ end: UInt64, _ complete: Bool) -> [[UInt8]] {
        let n = end - start
        if m == n { return complete ? [] : [self.subtree(start, end)] }
        let k = MerkleHash.split(n)
        if m <= k {
            return self.subproof(m, start, start + k, complete) + [self.subtree(start + k, end)]
        }
        return self.subproof(m - k, start + k, end, false) + [self.subtree(start, start + k)]
    }
}
