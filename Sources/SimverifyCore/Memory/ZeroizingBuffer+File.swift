#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension ZeroizingBuffer {
    /// Reads a whole file straight into a zeroizing buffer, with no intermediate copy.
    /// - Parameters:
    ///   - path: The file to read.
    ///   - maxBytes: Files larger than this are refused before anything is read.
    /// - Throws: `SimverifyError` with code `.fileUnreadable` or `.fileTooLarge`. Messages name
    ///   the path, never the content.
    public convenience init(contentsOfFile path: String, maxBytes: Int) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw SimverifyError(.fileUnreadable, "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else {
            throw SimverifyError(.fileUnreadable, "not a regular file: \(path)")
        }
        let size = Int(status.st_size)
        guard size <= maxBytes else {
            throw SimverifyError(.fileTooLarge, "\(path) is \(size) bytes; the limit is \(maxBytes)")
        }
        self.init(count: size)
        try self.withUnsafeMutableBytes { buffer in
            var offset = 0
            while offset < size {
                let n = read(fd, buffer.baseAddress! + offset, size - offset)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else {
                    throw SimverifyError(.fileUnreadable, "short read from \(path)")
                }
                offset += n
            }
        }
    }
}
