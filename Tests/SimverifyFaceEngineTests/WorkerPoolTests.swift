import Dispatch
import Foundation
import Testing

@testable import SimverifyFaceEngine

@Suite("Worker pool")
struct WorkerPoolTests {
    /// Polls `condition` for up to two seconds.
    func eventually(_ condition: () -> Bool) async -> Bool {
        for _ in 0..<200 {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }

    @Test func refusesAtOnceWhenWorkersAndQueueAreFull() async throws {
        let pool = WorkerPool(resources: [0], maxQueued: 1, name: "test")
        let gate = DispatchSemaphore(value: 0)
        let first = Task {
            try await pool.run { _ in
                gate.wait()
                return 1
            }
        }
        #expect(await eventually { pool.load.busy == 1 })
        let second = Task { try await pool.run { _ in 2 } }
        #expect(await eventually { pool.load.waiting == 1 })
        do {
            _ = try await pool.run { _ in 3 }
            Issue.record("a third job was accepted by a full pool")
        } catch let error as FaceEngineError {
            #expect(error.code == .overloaded)
        }
        gate.signal()
        #expect(try await first.value == 1)
        #expect(try await second.value == 2)
        #expect(try await pool.run { _ in 4 } == 4)  // room again
        await pool.stop()
    }

    @Test func aFinishedJobReleasesWhatItCaptured() async throws {
        final class Payload: Sendable {}
        final class WeakBox: @unchecked Sendable { weak var value: Payload? }
        let pool = WorkerPool(resources: [0], maxQueued: 8, name: "test")
        let box = WeakBox()
        do {
            let payload = Payload()
            box.value = payload
            _ = try await pool.run { _ in withExtendedLifetime(payload) { 1 } }
        }
        // Images are captured by jobs: they must not outlive the request in the queue's storage.
        #expect(await eventually { box.value == nil })
        await pool.stop()
    }

    @Test func eachResourceServesOneJobAtATime() async throws {
        final class Counter: @unchecked Sendable {
            var inUse = 0
            var maximum = 0
        }
        let counters = [Counter(), Counter()]
        let pool = WorkerPool(resources: counters, maxQueued: 64, name: "test")
        let lock = DispatchQueue(label: "lock")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<40 {
                group.addTask {
                    try await pool.run { counter in
                        lock.sync {
                            counter.inUse += 1
                            counter.maximum = max(counter.maximum, counter.inUse)
                        }
                        usleep(1000)
                        lock.sync { counter.inUse -= 1 }
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(counters.allSatisfy { $0.maximum == 1 })
        await pool.stop()
    }

    @Test func stopFinishesQueuedJobsThenRefuses() async throws {
        let pool = WorkerPool(resources: [0], maxQueued: 4, name: "test")
        let gate = DispatchSemaphore(value: 0)
        let running = Task {
            try await pool.run { _ in
                gate.wait()
                return "ran"
            }
        }
        #expect(await eventually { pool.load.busy == 1 })
        let queued = Task { try await pool.run { _ in "queued ran" } }
        #expect(await eventually { pool.load.waiting == 1 })
        let stopper = Task { await pool.stop() }
        try? await Task.sleep(for: .milliseconds(20))
        gate.signal()
        await stopper.value
        #expect(try await running.value == "ran")
        #expect(try await queued.value == "queued ran")
        do {
            _ = try await pool.run { _ in "late" }
            Issue.record("a stopped pool accepted a job")
        } catch let error as FaceEngineError {
            #expect(error.code == .shutDown)
        }
    }
}
