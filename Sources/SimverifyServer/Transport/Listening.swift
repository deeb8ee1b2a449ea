import NIOCore
import ServiceLifecycle
import Synchronization

/// The port a listener bound, published once: `waitUntilListening` returns it as soon as the bind
/// is done (useful with port 0), or nil if the listener never bound.
final class BoundPort: Sendable {
    private let port = Mutex<Int?>(nil)
    private let ready = AsyncStream<Int>.makeStream()

    /// Publishes the bound port.
    func bound(_ port: Int) {
        self.port.withLock { $0 = port }
        self.ready.continuation.yield(port)
        self.ready.continuation.finish()
    }

    /// The bound port, once there is one.
    func wait() async -> Int? {
        if let port = self.port.withLock({ $0 }) { return port }
        for await port in self.ready.stream { return port }
        return self.port.withLock { $0 }
    }
}

/// Waits until a graceful shutdown or the task's cancellation (another service of the group
/// failed), closing `channel` on either; the close future's wait is not cancellable by itself.
func serveUntilShutdown(_ channel: any Channel) async {
    await withGracefulShutdownHandler {
        await withTaskCancellationHandler {
            try? await channel.closeFuture.get()
        } onCancel: {
            channel.close(promise: nil)
        }
    } onGracefulShutdown: {
        channel.close(promise: nil)
    }
}
