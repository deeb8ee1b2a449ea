import Foundation
import SimverifyAudit
import Testing

@Suite("C2SP signed notes and checkpoints")
struct SignedNoteTests {
    static let files = [
        "signed-note/golang-x-mod-sumdb-note/sumdb-note-vectors.json",
        "signed-note/c2sp-spec-examples/c2sp-spec-examples.json",
        "signed-note/transparency-dev-formats/sumdb-checkpoint-vectors.json",
    ]

    static func verifiers(_ file: [String: Any]) throws -> [String: NoteVerifier] {
        var result: [String: NoteVerifier] = [:]
        for key in file["keys"] as! [[String: Any]] {
            result[key["id"] as! String] = try NoteVerifier(vkey: key["vkey"] as! String)
        }
        return result
    }

    static func signatures(_ list: Any?) -> [String] {
        (list as? [[String: Any]] ?? []).map { "\($0["name"]!)|\($0["key_id"]!)|\($0["signature"]!)" }
    }

    static func described(_ s: NoteSignature) -> String {
        "\(s.name)|\(String(format: "%08x", s.keyID))|\(s.base64)"
    }

    @Test(arguments: files)
    func everyOpenCase(file path: String) throws {
        let file = try Vectors.json(path)
        let known = try Self.verifiers(file)
        for c in file["open_cases"] as! [[String: Any]] {
            let id = c["id"] as! String
            let bytes = Vectors.b64(c["note_b64"])
            let verifiers = (c["verifier_keys"] as! [String]).compactMap { known[$0] }
            let accept = (c["expect"] as! String) == "accept"
            do {
                let opened = try SignedNote.open(bytes, verifiers: verifiers)
                // A checkpoint case also requires the expected origin.
                if let expected = c["expected_origin"] as? String {
                    let parsed = try Checkpoint(body: opened.text, expectedOrigin: expected)
                    if let checkpoint = c["checkpoint"] as? [String: Any] {
                        #expect(parsed.origin == checkpoint["origin"] as! String)
                        #expect(parsed.size == (checkpoint["tree_size"] as! NSNumber).uint64Value)
                        #expect(parsed.rootHash == Vectors.b64(checkpoint["root_hash_b64"]))
                    }
                }
                #expect(accept, "\(id) was accepted")
                if let text = c["text"] as? String { #expect(opened.text == Array(text.utf8), "\(id)") }
                if c["verified_sigs"] != nil {
                    #expect(opened.verified.map(Self.described) == Self.signatures(c["verified_sigs"]), "\(id)")
                }
                if c["unverified_sigs"] != nil {
                    #expect(opened.unverified.map(Self.described) == Self.signatures(c["unverified_sigs"]), "\(id)")
                }
            } catch let error as AuditError {
                #expect(!accept, "\(id) was rejected: \(error)")
                if c["parse_only"] as? Bool == true, let want = c["want_text"] as? String {
                    let parsed = try SignedNote(parsing: bytes)
                    #expect(parsed.text == Array(want.utf8), "\(id)")
                }
            }
        }
    }

    @Test func originMismatchIsRefused() throws {
        let file = try Vectors.json(Self.files[2])
        let known = try Self.verifiers(file)
        let wrong = (file["open_cases"] as! [[String: Any]]).first {
            ($0["id"] as! String) == "sumdb-checkpoint-wrong-origin"
        }!
        let opened = try SignedNote.open(Vectors.b64(wrong["note_b64"]), verifiers: Array(known.values))
        #expect(throws: AuditError(.wrongOrigin, "the checkpoint is for another log")) {
            try Checkpoint(body: opened.text, expectedOrigin: wrong["expected_origin"] as? String)
        }
    }

    @Test func signingIsDeterministicAndMatchesTheVectors() throws {
        let file = try Vectors.json(Self.files[0])
        let skeys = Dictionary(
            uniqueKeysWithValues: (file["keys"] as! [[String: Any]]).compactMap { key in
                (key["skey"] as? String).map { (key["id"] as! String, $0) }
            }
        )
        for c in file["sign_cases"] as! [[String: Any]] {
            let signer = try NoteSigner(skey: try #require(skeys[c["signer_key"] as! String]))
            if c["expect"] as? String == "reject" {
                #expect(throws: AuditError.self) { try SignedNote(text: c["text"] as! String).signed(by: signer) }
                continue
            }
            // Either sign a text, or add a signature to an already-signed note.
            let note =
                try (c["input_note"] as? String).map { try SignedNote(parsing: Array($0.utf8)) }
                ?? SignedNote(text: c["text"] as! String)
            #expect(try note.signed(by: signer).serialized == Array((c["want_note"] as! String).utf8), "\(c["id"]!)")
        }
    }

    @Test func verifierKeysParseStrictly() throws {
        let file = try Vectors.json(Self.files[0])
        for c in file["vkey_cases"] as! [[String: Any]] {
            let accepted = (try? NoteVerifier(vkey: c["vkey"] as! String)) != nil
            #expect(accepted == ((c["expect"] as! String) == "accept"), "\(c["vkey"]!)")
        }
        // Every proper substring and every single-byte increment of a valid vkey is refused.
        for key in file["keys"] as! [[String: Any]] {
            let vkey = Array((key["vkey"] as! String).utf8)
            #expect((try? NoteVerifier(vkey: String(decoding: vkey, as: UTF8.self))) != nil)
            for i in 0..<vkey.count {
                for j in (i + 1)...vkey.count where !(i == 0 && j == vkey.count) {
                    #expect((try? NoteVerifier(vkey: String(decoding: vkey[i..<j], as: UTF8.self))) == nil)
                }
                var bumped = vkey
                bumped[i] &+= 1
                #expect(
                    (try? NoteVerifier(vkey: String(decoding: bumped, as: UTF8.self))) == nil,
                    "byte \(i) incremented"
                )
            }
        }
    }

    @Test func checkpointsRoundTripAndRefuseForeignKeys() throws {
        let signer = try NoteSigner(name: "simverify.test/log", privateKey: .init())
        let other = try NoteSigner(name: "simverify.test/log", privateKey: .init())
        let checkpoint = Checkpoint(origin: "simverify.test/log", size: 42, rootHash: Array(repeating: 7, count: 32))
        let note = try checkpoint.signed(by: signer)
        #expect(try Checkpoint.open(note, verifier: signer.verifier) == checkpoint)
        #expect(try NoteVerifier(vkey: signer.verifier.vkey) == signer.verifier)
        #expect(try NoteSigner(skey: signer.skey).keyID == signer.keyID)
        // A checkpoint signed by an unknown key (same name, other key) is refused.
        #expect(throws: AuditError.self) {
            try Checkpoint.open(try checkpoint.signed(by: other), verifier: signer.verifier)
        }
        var tampered = note
        tampered[tampered.firstIndex(of: UInt8(ascii: "4"))!] = UInt8(ascii: "5")
        #expect(throws: AuditError.self) { try Checkpoint.open(tampered, verifier: signer.verifier) }
        for body in [
            "o\n01\nAAAA\n", "o\n1\n\n", "\n1\n" + Data(repeating: 0, count: 32).base64EncodedString() + "\n",
            "o\n-1\nx\n", "o\n1\n" + Data(repeating: 0, count: 32).base64EncodedString(),
        ] {
            #expect(throws: AuditError.self) { try Checkpoint(body: Array(body.utf8)) }
        }
    }
}
