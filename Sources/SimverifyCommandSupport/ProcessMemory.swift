import Foundation

/// A process's memory, from /proc/PID/status (this process when `pid` is nil).
package enum ProcessMemory {
    package static func residentBytes(pid: Int32? = nil) -> Int { field("VmRSS:", pid: pid) }
    package static func peakResidentBytes(pid: Int32? = nil) -> Int { field("VmHWM:", pid: pid) }

    private static func field(_ name: String, pid: Int32?) -> Int {
        guard
            let status = try? String(contentsOfFile: "/proc/\(pid.map(String.init) ?? "self")/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name) })
        else { return 0 }
        let kilobytes = line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return kilobytes * 1024
    }
}
