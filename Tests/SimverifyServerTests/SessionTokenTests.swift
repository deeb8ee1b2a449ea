import Foundation
import SimverifyAudit
import SimverifyCore
import Testing

@testable import SimverifyServer

@Suite struct SessionTokenTests {
    static let counter = try! CallerIdentity(tenant: "carrier-a", role: .counter, terminal: "store-0001")
    static func key(_ id: String, _ byte: UInt8) throws -> IdentifierKeyring.Key {
        try IdentifierKeyring.Key(id: id, secret: Array(repeating: byte, count: 32))
    }

    @Test func aTokenOpensForItsCallerWithItsClaims() throws {
        let tokens = SessionTokens(keys: [try Self.key("s1", 1)])
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let (token, claims) = try tokens.issue(for: Self.counter, policy: .standard, now: now)
        #expect(token.hasPrefix("svs1.") && token.utf8.count < 200)
        #expect(claims.nonce.count == 16 && claims.challenge.count == 3 && Set(claims.challenge).count == 3)
        #expect(claims.expiresAt == 1_800_000_120 && claims.attemptsAllowed == 3)
        #expect(try tokens.open(token, caller: Self.counter, now: now) == claims)
        // Two tokens never share a nonce.
        #expect(try tokens.issue(for: Self.counter, policy: .standard, now: now).claims.nonce != claims.nonce)
    }

    @Test func refusalsAreTyped() throws {
        let old = try Self.key("s1", 1)
        let new = try Self.key("s2", 2)
        let tokens = SessionTokens(keys: [old, new])
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let (token, claims) = try tokens.issue(for: Self.counter, policy: .standard, now: now)

        func failure(
            _ token: String,
            caller: CallerIdentity = Self.counter,
            at date: Date = Date(timeIntervalSince1970: 1_800_000_000)
        ) -> SessionTokens.Failure? {
            do {
                _ = try tokens.open(token, caller: caller, now: date)
                return nil
            } catch {
                return error
            }
        }
        #expect(failure(token, at: now.addingTimeInterval(119)) == nil)
        #expect(failure(token, at: now.addingTimeInterval(120)) == .expired)
        #expect(
            failure(token, caller: try CallerIdentity(tenant: "carrier-b", role: .counter, terminal: "store-0001"))
                == .otherCaller
        )
        #expect(
            failure(token, caller: try CallerIdentity(tenant: "carrier-a", role: .counter, terminal: "store-0002"))
                == .otherCaller
        )
        // Any flipped character of the body is caught by the MAC (or the encoding).
        let body = Array(token.utf8)
        for index in stride(from: 5, to: body.count, by: 3) {
            var tampered = body
            tampered[index] = tampered[index] == UInt8(ascii: "a") ? UInt8(ascii: "b") : UInt8(ascii: "a")
            #expect(failure(String(decoding: tampered, as: UTF8.self)) == .invalid)
        }
        // Longer attempts and a new challenge under the same key id, without the key: refused.
        var forged = claims
        forged.attemptsAllowed = 200
        forged.challenge = [.moveCloser]
        #expect(failure(try SessionTokens(keys: []).seal(forged, key: try Self.key("s2", 9))) == .invalid)
        // The old key still opens its tokens after a rotation; an unknown key id does not.
        #expect(failure(try tokens.seal(claims, key: old)) == nil)
        #expect(failure(try tokens.seal(claims, key: try Self.key("s3", 1))) == .invalid)
        for garbage in [
            "", "svs1.", "svs1.@@@@", "svs2." + String(token.dropFirst(5)), String(repeating: "A", count: 5000),
        ] {
            #expect(failure(garbage) == .invalid)
        }
    }

    @Test func challengesAreDrawnFromEveryStep() {
        var seen: [ChallengeStep: Int] = [:]
        for _ in 0..<500 {
            let challenge = SessionTokens.drawChallenge(count: 2)
            #expect(challenge.count == 2 && challenge[0] != challenge[1])
            for step in challenge { seen[step, default: 0] += 1 }
        }
        #expect(seen.count == ChallengeStep.allCases.count && seen.values.allSatisfy { $0 > 100 })
    }
}

@Suite struct SessionStoreTests {
    @Test func attemptsAreCountedClosedGivenBackAndKeptOnDisk() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sessions-\(UUID()).sqlite").path
        let nonce = Array(repeating: UInt8(7), count: 16)
        let other = Array(repeating: UInt8(8), count: 16)
        let now: UInt64 = 1_800_000_000
        var store: SQLiteSessionStore? = try SQLiteSessionStore(path: path)
        #expect(try await store!.admit(nonce: nonce, expiresAt: now + 120, allowed: 3, now: now) == .attempt(number: 1))
        #expect(try await store!.admit(nonce: nonce, expiresAt: now + 120, allowed: 3, now: now) == .attempt(number: 2))
        try await store!.giveBack(nonce: nonce, expiresAt: now + 120)
        #expect(try await store!.admit(nonce: nonce, expiresAt: now + 120, allowed: 3, now: now) == .attempt(number: 2))
        #expect(try await store!.recorded(.retry, nonce: nonce, expiresAt: now + 120) == false)
        store = nil
        // Reopened from the file: the count survived.
        let reopened = try SQLiteSessionStore(path: path)
        #expect(
            try await reopened.admit(nonce: nonce, expiresAt: now + 120, allowed: 3, now: now) == .attempt(number: 3)
        )
        #expect(try await reopened.recorded(.livenessFailed, nonce: nonce, expiresAt: now + 120) == false)
        // Exhausted until the FALLBACK is recorded, which closes the session.
        #expect(try await reopened.admit(nonce: nonce, expiresAt: now + 120, allowed: 3, now: now) == .exhausted)
        #expect(try await reopened.admit(nonce: nonce, expiresAt: now + 120, allowed: 3, now: now) == .exhausted)
        #expect(try await reopened.recorded(.fallback, nonce: nonce, expiresAt: now + 120) == true)
        #expect(try await reopened.admit(nonce: nonce, expiresAt: now + 120, allowed: 3, now: now) == .closed)
        #expect(
            try await reopened.admit(nonce: other, expiresAt: now + 120, allowed: 3, now: now) == .attempt(number: 1)
        )
        #expect(try await reopened.recorded(.approved, nonce: other, expiresAt: now + 120) == true)
        #expect(try await reopened.admit(nonce: other, expiresAt: now + 120, allowed: 3, now: now) == .closed)
        try await reopened.giveBack(nonce: other, expiresAt: now + 120)
        #expect(
            try await reopened.admit(nonce: other, expiresAt: now + 120, allowed: 3, now: now) == .closed,
            "giving back does not reopen"
        )
        #expect(try await reopened.state(nonce: other) == SessionState(attempts: 1, closed: true))
    }

    /// Attempts racing on one session never exceed its allowance: each admission is one
    /// transaction over the stored state.
    @Test func racingAttemptsAreCountedOnce() async throws {
        let store = try SQLiteSessionStore(path: nil)
        let nonce = Array(repeating: UInt8(9), count: 16)
        let now: UInt64 = 1_800_000_000
        let admissions = try await withThrowingTaskGroup(of: SQLiteSessionStore.Admission.self) { group in
            for _ in 0..<12 {
                group.addTask { try await store.admit(nonce: nonce, expiresAt: now + 120, allowed: 3, now: now) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let numbers = admissions.compactMap { if case .attempt(let n) = $0 { n } else { nil } }.sorted()
        #expect(numbers == [1, 2, 3] && admissions.filter { $0 == .exhausted }.count == 9, "\(admissions)")
        #expect(try await store.attemptsUsed(nonce: nonce) == 3)
    }
}

/// The key file's two owners (issue 12, point 8): the audit library reads the log's signing and
/// identifier keys and nothing else; the server reads its template and session secrets.
@Suite struct KeyFileTests {
    @Test func theAuditLibraryAndTheServerEachReadTheirOwnKeys() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("keys-\(UUID()).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        // The audit library's own file: enough for the log and the regulator's tool, not for a server.
        try AuditKeys.writeDevelopmentKeys(to: path, origin: "simverify.test/keys")
        let audit = try AuditKeys(contentsOf: path)
        let refused = #expect(throws: AuditError.self) { try ServerSecrets(contentsOf: path) }
        #expect(refused?.code == .malformedKey && refused?.message.contains("no template key") == true)
        // The server adds its secrets and keeps the log's keys.
        #expect(try ServerSecrets.addMissing(to: path) == ["template", "session"])
        #expect(try ServerSecrets.addMissing(to: path) == [])
        let secrets = try ServerSecrets(contentsOf: path)
        #expect(secrets.templateKeys.count == 1 && secrets.sessionKeys.count == 1)
        #expect(try AuditKeys(contentsOf: path).signer.verifier.vkey == audit.signer.verifier.vkey)
        // A bad secret is named by kind, never printed.
        var object = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any]
        )
        object["sessionKeys"] = [["id": "session-bad", "secret": "c2hvcnQtc2VjcmV0"]]  // "short-secret"
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
        let short = #expect(throws: AuditError.self) { try ServerSecrets(contentsOf: path) }
        #expect(
            short?.message.contains("session key needs 32 secret bytes") == true
                && short?.message.contains("c2hvcnQ") == false
        )
        #expect(
            try AuditKeys(contentsOf: path).identifiers.hash("900101-1234567", field: .nationalID) != nil,
            "the audit keys still load"
        )
    }
}
