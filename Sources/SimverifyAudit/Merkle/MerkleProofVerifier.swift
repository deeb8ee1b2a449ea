/// Verification of RFC 9162 inclusion and consistency proofs: what a regulator runs, needing
/// nothing but hashes.
public enum MerkleProofVerifier {
    /// True when `proof` proves `leafHash` at `index` in a tree of `size` leaves with `root`
    /// (RFC 9162 §2.1.3.2; a leaf hash must be 32 bytes).
    public static func verifyInclusion(
        leafHash: [UInt8],
        index: UInt64,
        size: UInt64,
        proof: [[UInt8]],
        root: [UInt8]
    ) -> Bool {
        guard index < size, leafHash.count == MerkleHash.size, proof.allSatisfy({ $0.count == MerkleHash.size }) else {
            return false
        }
        var fn = index
        var sn = size - 1
        var r = leafHash
        for p in proof {
            if sn == 0 { return false }
            if fn & 1 == 1 || fn == sn {
                r = MerkleHash.node(p, r)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                r = MerkleHash.node(r, p)
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0 && r == root
    }

    /// True when `proof` proves the tree of `size1` leaves with `root1` is a prefix of the tree
    /// of `size2` leaves with `root2` (RFC 9162 §2.1.4.2). Equal sizes need an empty proof and
    /// equal roots; a size of 0 is never consistent (nothing to prove).
    public static func verifyConsistency(
        size1: UInt64,
        size2: UInt64,
        root1: [UInt8],
        root2: [UInt8],
        proof: [[UInt8]]
    ) -> Bool {
        if size1 == size2 { return size1 > 0 && proof.isEmpty && root1 == root2 }
        guard size1 > 0, size1 < size2, !proof.isEmpty, proof.allSatisfy({ $0.count == MerkleHash.size }) else {
            return false
        }
        var path = proof
        if size1 & (size1 - 1) == 0 { path.insert(root1, at: 0) }
        var fn = size1 - 1
        var sn = size2 - 1
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        var fr = path[0]
        var sr = path[0]
        for c in path.dropFirst() {
            if sn == 0 { return false }
            if fn & 1 == 1 || fn == sn {
                fr = MerkleHash.node(c, fr)
                sr = MerkleHash.node(c, sr)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                sr = MerkleHash.node(sr, c)
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0 && fr == root1 && sr == root2
    }
}
