import SimverifyCore
import Synchronization

/// Token buckets keyed by caller (tenant, or tenant and terminal): `rate` tokens a second up to
/// `burst`. Memory is bounded: full, idle buckets are forgotten when the table grows large.
public final class TokenBuckets: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    /// Tokens added per second.
    public let rate: Double
    /// Most tokens a bucket holds (the burst allowed after idleness).
    public let burst: Double
    private let buckets = Mutex<[String: Bucket]>([:])
    private let maxKeys: Int

    /// Creates buckets; a rate of 0 or less disables the limit.
    public init(rate: Double, burst: Double, maxKeys: Int = 100_000) {
        self.rate = rate
        self.burst = max(1, burst)
        self.maxKeys = maxKeys
    }

    /// Takes one token for `key` at `now`.
    /// - Returns: false when the bucket is empty (the call must be refused).
    public func take(_ key: String, now: ContinuousClock.Instant = .now) -> Bool {
        guard self.rate > 0 else { return true }
        return self.buckets.withLock { table in
            var bucket = table[key] ?? Bucket(tokens: self.burst, updated: now)
            let elapsed = now - bucket.updated
            let seconds = elapsed.inSeconds
            bucket.tokens = min(self.burst, bucket.tokens + max(0, seconds) * self.rate)
            bucket.updated = now
            let allowed = bucket.tokens >= 1
            if allowed { bucket.tokens -= 1 }
            table[key] = bucket
            if table.count > self.maxKeys {
                // A full bucket is the same as no bucket: forget those.
                let horizon = self.burst / self.rate
                table = table.filter { entry in
                    let idle = now - entry.value.updated
                    return Double(idle.components.seconds) < horizon
                }
            }
            return allowed
        }
    }

    /// Buckets held now.
    public var count: Int { self.buckets.withLock { $0.count } }
}

/// Open connections per client certificate identity.
public final class ConnectionsPerCaller: Sendable {
    /// Most connections one identity may hold; 0 or less disables the limit.
    public let limit: Int
    private let open = Mutex<[String: Int]>([:])

    /// Creates a counter.
    public init(limit: Int) {
        self.limit = limit
    }

    /// Admits one more connection for `identity`, or refuses it.
    public func admit(_ identity: String) -> Bool {
        guard self.limit > 0 else { return true }
        return self.open.withLock { table in
            let count = table[identity, default: 0]
            guard count < self.limit else { return false }
            table[identity] = count + 1
            return true
        }
    }

    /// Releases an admitted connection.
    public func release(_ identity: String) {
        guard self.limit > 0 else { return }
        self.open.withLock { table in
            let count = table[identity, default: 0] - 1
            table[identity] = count > 0 ? count : nil
        }
    }
}
