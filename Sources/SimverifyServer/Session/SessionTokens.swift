@preconcurrency import Crypto
import Foundation
import SimverifyAudit
import SimverifyCore

/// What a session token says: who it belongs to, what it asks, until when.
public struct SessionClaims: Sendable, Hashable {
    /// 16 random bytes; the single-use key of the session in the session store.
    public var nonce: [UInt8]
    /// The caller's tenant.
    public var tenant: String
    /// The caller's terminal ("" for callers without one).
    public var terminal: String
    /// The challenge, in order.
    public var challenge: [ChallengeStep]
    /// Unix seconds.
    public var issuedAt: UInt64
    /// Unix seconds; unusable after.
    public var expiresAt: UInt64
    /// Verify attempts allowed.
    public var attemptsAllowed: Int

    /// A name for the session in audit records and logs: 8 bytes of SHA-256 of the nonce, hex.
    public var reference: String {
        SHA256.hash(data: self.nonce).prefix(8).map { String(format: "%02x", $0) }.joined()
    }
}

/// Issues and checks liveness-session tokens: HMAC-SHA256 under a server key named by id, so
/// any replica with the key file can check a token another issued.
///
/// Token: "svs1." + base64url(payload ‖ tag). Payload: u8 version 1, u8 key-id length, key id,
/// nonce (16), u64 issued, u64 expires (Unix seconds, big-endian), u8 attempts, u8 step count,
/// steps (u8 each, the wire values), u8 tenant length, tenant, u8 terminal length, terminal.
/// Tag: HMAC-SHA256(key, "simverify-session-v1" ‖ 0 ‖ payload).
public struct SessionTokens: Sendable {
    /// Keys, oldest first; the last issues, all check.
    public let keys: [IdentifierKeyring.Key]

    /// Why a token was refused.
    public enum Failure: Error, Sendable, Hashable {
        /// Malformed, tampered with, or under an unknown key: indistinguishable on purpose.
        case invalid
        /// Issued to another tenant or terminal.
        case otherCaller
        /// Past its expiry.
        case expired
        /// Valid, but its session already has its final decision (found by the session store).
        case used

        /// The reason string of the refusal (RPC status and audit detail).
        public var reason: String {
            switch self {
            case .invalid: "session_invalid"
            case .otherCaller: "session_other_caller"
            case .expired: "session_expired"
            case .used: "session_used"
            }
        }
    }

    /// Longest token accepted, in bytes (issued tokens are about 170).
    public static let maxTokenBytes = 1024
    private static let prefix = "svs1."
    private static let domain = Array("simverify-session-v1".utf8) + [0]
    static let stepCodes: [ChallengeStep: UInt8] = [
        .turnLeft: 1, .turnRight: 2, .moveCloser: 3, .lookUp: 4, .lookDown: 5,
    ]

    /// Creates the checker and issuer.
    public init(keys: [IdentifierKeyring.Key]) {
        self.keys = keys
    }

    /// Draws a challenge: `count` different steps of `steps` in random order.
    public static func drawChallenge(
        count: Int,
        from steps: [ChallengeStep] = ChallengeStep.allCases
    ) -> [ChallengeStep] {
        var generator = SystemRandomNumberGenerator()
        let pool = Array(Set(steps.isEmpty ? ChallengeStep.allCases : steps))
        return Array(pool.shuffled(using: &generator).prefix(max(1, min(count, pool.count))))
    }

    /// Issues a token for `caller` under `policy`.
    public func issue(
        for caller: CallerIdentity,
        policy: LivenessPolicy,
        now: Date = Date()
    ) throws -> (token: String, claims: SessionClaims) {
        guard let key = self.keys.last else { throw SimverifyError(.invalidArgument, "no session key") }
        var generator = SystemRandomNumberGenerator()
        let issued = UInt64(now.timeIntervalSince1970)
        let claims = SessionClaims(
            nonce: (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) },
            tenant: caller.tenant,
            terminal: caller.terminal ?? "",
            challenge: Self.drawChallenge(count: policy.challengeSteps, from: policy.allowedSteps),
            issuedAt: issued,
            expiresAt: issued + UInt64(max(1, policy.sessionLifetimeSeconds)),
            attemptsAllowed: max(1, min(policy.attemptsPerSession, 255))
        )
        return (try self.seal(claims, key: key), claims)
    }

    /// The token for `claims` under `key` (tests build tampered and expired tokens with it).
    func seal(_ claims: SessionClaims, key: IdentifierKeyring.Key) throws -> String {
        func short(_ s: String) throws -> [UInt8] {
            let bytes = Array(s.utf8)
            guard bytes.count <= 255 else { throw SimverifyError(.invalidArgument, "session field too long") }
            return [UInt8(bytes.count)] + bytes
        }
        func u64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(v >> UInt64(56 - 8 * $0) & 0xFF) } }
        var payload: [UInt8] = [1]
        payload += try short(key.id)
        payload += claims.nonce + u64(claims.issuedAt) + u64(claims.expiresAt)
        payload +=
            [UInt8(claims.attemptsAllowed), UInt8(claims.challenge.count)]
            + claims.challenge.map { Self.stepCodes[$0]! }
        payload += try short(claims.tenant) + short(claims.terminal)
        return Self.signed(payload: payload, key: key)
    }

    /// A token carrying `payload` exactly as given, signed with `key`: for fuzzing the parser
    /// behind the MAC, which only the server's own payloads otherwise reach.
    public static func signed(payload: [UInt8], key: IdentifierKeyring.Key) -> String {
        let tag = HMAC<SHA256>.authenticationCode(for: Self.domain + payload, using: key.secret)
        return Self.prefix + Self.base64url(payload + Array(tag))
    }

    /// Checks a token for `caller`.
    public func open(_ token: String, caller: CallerIdentity, now: Date = Date()) throws(Failure) -> SessionClaims {
        guard token.utf8.count <= Self.maxTokenBytes, token.hasPrefix(Self.prefix),
            let bytes = Self.unbase64url(String(token.dropFirst(Self.prefix.count))),
            bytes.count > 32
        else { throw .invalid }
        let payload = Array(bytes.dropLast(32))
        let tag = Array(bytes.suffix(32))
        var reader = Reader(bytes: payload)
        guard reader.u8() == 1, let keyID = reader.string(), let key = self.keys.first(where: { $0.id == keyID }) else {
            throw .invalid
        }
        guard HMAC<SHA256>.isValidAuthenticationCode(tag, authenticating: Self.domain + payload, using: key.secret)
        else { throw .invalid }
        // Authenticated: the rest was written by us, but is still read defensively.
        guard let nonce = reader.take(16), let issued = reader.u64(), let expires = reader.u64(),
            let attempts = reader.u8(),
            let stepCount = reader.u8(), let stepBytes = reader.take(Int(stepCount)), let tenant = reader.string(),
            let terminal = reader.string(), reader.atEnd
        else { throw .invalid }
        let steps = stepBytes.compactMap { code in Self.stepCodes.first(where: { $0.value == code })?.key }
        guard steps.count == stepBytes.count else { throw .invalid }
        guard tenant == caller.tenant, terminal == (caller.terminal ?? "") else { throw .otherCaller }
        guard UInt64(now.timeIntervalSince1970) < expires else { throw .expired }
        return SessionClaims(
            nonce: nonce,
            tenant: tenant,
            terminal: terminal,
            challenge: steps,
            issuedAt: issued,
            expiresAt: expires,
            attemptsAllowed: Int(attempts)
        )
    }

    struct Reader {
        let bytes: [UInt8]
        var offset = 0
        var atEnd: Bool { self.offset == self.bytes.count }
        mutating func take(_ n: Int) -> [UInt8]? {
            guard n >= 0, self.offset + n <= self.bytes.count else { return nil }
            defer { self.offset += n }
            return Array(self.bytes[self.offset..<(self.offset + n)])
        }
        mutating func u8() -> UInt8? { self.take(1)?.first }
        mutating func u64() -> UInt64? { self.take(8)?.reduce(0) { $0 << 8 | UInt64($1) } }
        mutating func string() -> String? {
            guard let n = self.u8(), let raw = self.take(Int(n)) else { return nil }
            return String(validating: raw, as: UTF8.self)
        }
    }

    static func base64url(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(
            of: "/",
            with: "_"
        )
        .replacingOccurrences(of: "=", with: "")
    }

    static func unbase64url(_ text: String) -> [UInt8]? {
        guard text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
            return nil
        }
        var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while s.count % 4 != 0 { s += "=" }
        return Data(base64Encoded: s).map(Array.init)
    }
}
