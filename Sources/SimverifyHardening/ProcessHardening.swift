import CSimverifyProcess
import Logging
import SimverifyCore

#if canImport(Glibc)
import Glibc
#endif

/// What the server does to its own process before it handles any image (DESIGN.md invariant 1).
public enum ProcessHardening {
    /// What was applied.
    public struct Report: Sendable, Hashable {
        /// PR_SET_DUMPABLE is 0: no core dumps, /proc/PID/mem closed to other users.
        public var notDumpable: Bool
        /// RLIMIT_CORE is 0.
        public var noCoreFiles: Bool
        /// glibc fills freed heap chunks (M_PERTURB), so freed copies of request bytes are scrubbed.
        public var freedMemoryScrubbed: Bool
        /// Image buffers are mlock'ed (the limit allows at least `memlockLimit` bytes).
        public var imageBuffersLocked: Bool
        /// RLIMIT_MEMLOCK's soft limit, bytes (UInt64.max for unlimited).
        public var memlockLimit: UInt64
    }

    /// The byte glibc writes over freed chunks.
    public static let perturbByte: Int32 = 0xA5

    /// Turns off core dumps, makes the process undumpable, asks glibc to scrub freed memory,
    /// and locks image buffers in RAM when RLIMIT_MEMLOCK allows 64 MiB or more (else buffers
    /// stay unlocked and the log says so: raise the limit in production).
    @discardableResult
    public static func apply(logger: Logger) -> Report {
        #if canImport(Glibc)
        let dumpable = sv_process_set_dumpable(0) == 0 && sv_process_get_dumpable() == 0
        let noCore = sv_process_disable_core_files() == 0
        // M_PERTURB: freed chunks are filled with the byte, allocations with its complement.
        let perturbed = sv_process_scrub_freed_memory(perturbByte) == 1
        let limit = sv_process_memlock_limit()
        let lock = limit >= 64 << 20
        ZeroizingBuffer.lockPages.store(lock, ordering: .relaxed)
        let report = Report(
            notDumpable: dumpable,
            noCoreFiles: noCore,
            freedMemoryScrubbed: perturbed,
            imageBuffersLocked: lock,
            memlockLimit: limit
        )
        #else
        let report = Report(
            notDumpable: false,
            noCoreFiles: false,
            freedMemoryScrubbed: false,
            imageBuffersLocked: false,
            memlockLimit: 0
        )
        #endif
        let level: Logger.Level =
            report.notDumpable && report.noCoreFiles && report.freedMemoryScrubbed && report.imageBuffersLocked
            ? .info : .warning
        logger.log(
            level: level,
            "process hardening",
            metadata: [
                "not_dumpable": "\(report.notDumpable)", "no_core_files": "\(report.noCoreFiles)",
                "freed_memory_scrubbed": "\(report.freedMemoryScrubbed)",
                "image_buffers_locked": "\(report.imageBuffersLocked)",
                "memlock_limit": "\(report.memlockLimit == .max ? "unlimited" : String(report.memlockLimit))",
            ]
        )
        return report
    }
}
