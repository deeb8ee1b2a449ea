import Foundation

/// Worker threads, each owning one resource (a `FaceModelSet` in the engine), behind a bounded queue.
///
/// Face work is CPU-bound for tens of milliseconds, so it runs on dedicated threads, never on
/// Swift's cooperative pool. When every worker is busy and `maxQueued` jobs already wait, a new
/// job is refused at once with `.overloaded` instead of letting latency grow without bound.
final class WorkerPool<Resource>: @unchecked Sendable {
    // All mutable state is guarded by `condition`.
    private let condition = NSCondition()
    // A taken job's slot is set to nil at once: a finished job must not keep what it captured
    // (request images) alive until the array is compacted.
    private var waiting: [((Resource) -> Void)?] = []
    private var waitingHead = 0
    private var busy = 0
    private var stopping = false
    private var exited = 0
    private var exitWaiters: [CheckedContinuation<Void, Never>] = []

    /// Number of workers.
    let workerCount: Int
    /// Jobs that may wait while every worker is busy.
    let maxQueued: Int

    /// A resource handed to exactly one worker thread.
    private struct Handoff: @unchecked Sendable { let resource: Resource }

    /// Starts one thread for each resource.
    init(resources: [Resource], maxQueued: Int, name: String) {
        self.workerCount = resources.count
        self.maxQueued = max(0, maxQueued)
        for (index, resource) in resources.enumerated() {
            let handoff = Handoff(resource: resource)
            let thread = Thread { [self] in self.work(with: handoff.resource) }
            thread.name = "\(name)-\(index)"
            thread.stackSize = 16 << 20
            thread.start()
        }
    }

    /// Jobs running and waiting now.
    var load: (busy: Int, waiting: Int) {
        self.condition.lock()
        defer { self.condition.unlock() }
        return (self.busy, self.waiting.count - self.waitingHead)
    }

    /// Runs `body` on a worker with that worker's resource.
    /// - Throws: `.overloaded` at once when full, `.shutDown` after `stop()`, or what `body` throws.
    func run<Result: Sendable>(_ body: @escaping @Sendable (Resource) throws -> Result) async throws -> Result {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Result, Error>) in
            self.condition.lock()
            if self.stopping {
                self.condition.unlock()
                continuation.resume(throwing: FaceEngineError(.shutDown, "the face engine is shutting down"))
                return
            }
            let queued = self.waiting.count - self.waitingHead
            if self.busy + queued >= self.workerCount + self.maxQueued {
                self.condition.unlock()
                continuation.resume(
                    throwing: FaceEngineError(
                        .overloaded,
                        "all \(self.workerCount) workers are busy and the queue is full"
                    )
                )
                return
            }
            self.waiting.append { resource in continuation.resume(with: Swift.Result { try body(resource) }) }
            self.condition.signal()
            self.condition.unlock()
        }
    }

    /// Stops accepting jobs; queued jobs still run. Returns when every worker has exited,
    /// suspending rather than blocking (never hold a cooperative thread while workers drain).
    func stop() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            self.condition.lock()
            self.stopping = true
            self.condition.broadcast()
            if self.exited == self.workerCount {
                self.condition.unlock()
                continuation.resume()
            } else {
                self.exitWaiters.append(continuation)
                self.condition.unlock()
            }
        }
    }

    /// Stops accepting jobs; queued jobs still run. With `wait`, blocks until every worker has
    /// exited: only for threads outside Swift's cooperative pool.
    func stop(wait: Bool) {
        self.condition.lock()
        self.stopping = true
        self.condition.broadcast()
        while wait && self.exited < self.workerCount {
            self.condition.wait()
        }
        self.condition.unlock()
    }

    private func work(with resource: Resource) {
        while true {
            self.condition.lock()
            while self.waitingHead == self.waiting.count && !self.stopping {
                self.condition.wait()
            }
            if self.waitingHead == self.waiting.count {
                self.exited += 1
                self.condition.broadcast()
                let waiters = self.exited == self.workerCount ? self.exitWaiters : []
                if !waiters.isEmpty { self.exitWaiters.removeAll() }
                self.condition.unlock()
                for waiter in waiters { waiter.resume() }
                return
            }
            let job = self.waiting[self.waitingHead]!
            self.waiting[self.waitingHead] = nil
            self.waitingHead += 1
            if self.waitingHead == self.waiting.count {
                self.waiting.removeAll(keepingCapacity: true)
                self.waitingHead = 0
            } else if self.waitingHead > 64 && self.waitingHead * 2 > self.waiting.count {
                self.waiting.removeFirst(self.waitingHead)
                self.waitingHead = 0
            }
            self.busy += 1
            self.condition.unlock()

            job(resource)

            self.condition.lock()
            self.busy -= 1
            self.condition.unlock()
        }
    }
}
