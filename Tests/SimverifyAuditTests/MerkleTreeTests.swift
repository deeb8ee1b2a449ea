import Foundation
import SimverifyAudit
import Testing

@Suite("RFC 6962 Merkle tree")
struct MerkleTreeTests {
    @Test func everyTransparencyDevInclusionVector() throws {
        let files = try Vectors.jsonFiles(under: "merkle/transparency-dev-merkle/testdata/inclusion")
        #expect(files.count == 98)
        for (path, v) in files {
            let ok = MerkleProofVerifier.verifyInclusion(
                leafHash: Vectors.b64(v["leafHash"]),
                index: (v["leafIdx"] as! NSNumber).uint64Value,
                size: (v["treeSize"] as! NSNumber).uint64Value,
                proof: (v["proof"] as? [Any] ?? []).map(Vectors.b64),
                root: Vectors.b64(v["root"])
            )
            #expect(ok == !(v["wantErr"] as! Bool), "\(path)")
        }
    }

    @Test func everyTransparencyDevConsistencyVector() throws {
        let files = try Vectors.jsonFiles(under: "merkle/transparency-dev-merkle/testdata/consistency")
        #expect(files.count == 98)
        for (path, v) in files {
            let ok = MerkleProofVerifier.verifyConsistency(
                size1: (v["size1"] as! NSNumber).uint64Value,
                size2: (v["size2"] as! NSNumber).uint64Value,
                root1: Vectors.b64(v["root1"]),
                root2: Vectors.b64(v["root2"]),
                proof: (v["proof"] as? [Any] ?? []).map(Vectors.b64)
            )
            #expect(ok == !(v["wantErr"] as! Bool), "\(path)")
        }
    }

    @Test func theRFC6962ReferenceTree() throws {
        let v = try Vectors.json("merkle/rfc6962-reference/rfc6962-tree-8-leaves.json")
        let leaves = (v["leaves"] as! [String]).map(Vectors.hex)
        var tree = MerkleTree()
        for (i, leaf) in leaves.enumerated() {
            #expect(MerkleHash.leaf(leaf) == Vectors.hex((v["leaf_hashes"] as! [String])[i]))
            tree.append(leafHash: MerkleHash.leaf(leaf))
        }
        for entry in v["roots_by_size"] as! [[String: Any]] {
            let size = (entry["tree_size"] as! NSNumber).uint64Value
            #expect(tree.root(size: size) == Vectors.hex(entry["root"] as! String), "root of \(size)")
        }
        for p in v["inclusion_proofs"] as! [[String: Any]] {
            let index = (p["leaf_index"] as! NSNumber).uint64Value
            let size = (p["tree_size"] as! NSNumber).uint64Value
            let proof = (p["proof"] as! [String]).map(Vectors.hex)
            #expect(tree.inclusionProof(index: index, size: size) == proof, "inclusion \(index)/\(size)")
            #expect(
                MerkleProofVerifier.verifyInclusion(
                    leafHash: Vectors.hex(p["leaf_hash"] as! String),
                    index: index,
                    size: size,
                    proof: proof,
                    root: Vectors.hex(p["root"] as! String)
                )
            )
        }
        for p in v["consistency_proofs"] as! [[String: Any]] {
            let m = (p["size1"] as! NSNumber).uint64Value
            let n = (p["size2"] as! NSNumber).uint64Value
            let proof = (p["proof"] as! [String]).map(Vectors.hex)
            #expect(tree.consistencyProof(from: m, to: n) == proof, "consistency \(m)->\(n)")
            #expect(
                MerkleProofVerifier.verifyConsistency(
                    size1: m,
                    size2: n,
                    root1: Vectors.hex(p["root1"] as! String),
                    root2: Vectors.hex(p["root2"] as! String),
                    proof: proof
                )
            )
        }
        for h in v["hasher_vectors"] as! [[String: Any]] {
            let want = Vectors.hex(h["want"] as! String)
            switch h["function"] as! String {
            case "empty_root": #expect(MerkleHash.emptyRoot == want)
            case "leaf_hash": #expect(MerkleHash.leaf(Vectors.hex(h["input_hex"] as! String)) == want)
            default:
                #expect(
                    MerkleHash.node(Vectors.hex(h["left_hex"] as! String), Vectors.hex(h["right_hex"] as! String))
                        == want
                )
            }
        }
    }

    /// MTH straight from RFC 6962's definition, for comparison.
    static func naiveRoot(_ leaves: ArraySlice<[UInt8]>) -> [UInt8] {
        if leaves.isEmpty { return MerkleHash.emptyRoot }
        if leaves.count == 1 { return MerkleHash.leaf(leaves.first!) }
        var k = 1
        while k << 1 < leaves.count { k <<= 1 }
        return MerkleHash.node(naiveRoot(leaves.prefix(k)), naiveRoot(leaves.dropFirst(k)))
    }

    @Test(arguments: [1, 2, 3, 5, 7, 8, 9, 16, 17, 31, 33, 64, 100, 129])
    func agreesWithANaiveTreeAndItsOwnProofs(size: Int) {
        var generator = SystemRandomNumberGenerator()
        let leaves = (0..<size).map { _ in
            (0..<Int.random(in: 0...40, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        }
        var tree = MerkleTree()
        for leaf in leaves { tree.append(leafHash: MerkleHash.leaf(leaf)) }
        for n in 1...size {
            let root = tree.root(size: UInt64(n))
            #expect(root == Self.naiveRoot(leaves[0..<n]))
            let index = Int.random(in: 0..<n, using: &generator)
            let proof = tree.inclusionProof(index: UInt64(index), size: UInt64(n))
            #expect(
                MerkleProofVerifier.verifyInclusion(
                    leafHash: MerkleHash.leaf(leaves[index]),
                    index: UInt64(index),
                    size: UInt64(n),
                    proof: proof,
                    root: root
                )
            )
            let m = Int.random(in: 1...n, using: &generator)
            let consistency = tree.consistencyProof(from: UInt64(m), to: UInt64(n))
            #expect(
                MerkleProofVerifier.verifyConsistency(
                    size1: UInt64(m),
                    size2: UInt64(n),
                    root1: tree.root(size: UInt64(m)),
                    root2: root,
                    proof: consistency
                )
            )
            if m < n, !consistency.isEmpty {
                var forged = consistency
                forged[0][0] ^= 1
                #expect(
                    !MerkleProofVerifier.verifyConsistency(
                        size1: UInt64(m),
                        size2: UInt64(n),
                        root1: tree.root(size: UInt64(m)),
                        root2: root,
                        proof: forged
                    )
                )
            }
        }
    }
}
