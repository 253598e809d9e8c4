#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Appends lines to a file and rotates it like Python's `RotatingFileHandler`, counting bytes.
///
/// Before a write that would make the file pass `maxBytes`, `name.(N-1)` becomes `name.N` ... `name.1` becomes
/// `name.2`, the file becomes `name.1`, and a new file is started. A file is never larger than `maxBytes`
/// (it may be exactly `maxBytes`); a single line longer than that is cut to fit, ending with a marker.
/// `maxBytes == 0` never rotates; `backupCount == 0` truncates instead of keeping backups.
///
/// Not thread-safe: owned by one writer (the ``LogSink`` actor). Many lines go out in one `write(2)` per file.
final class RotatingFileWriter {
    let directory: String
    let path: String
    let maxBytes: Int
    let backupCount: Int
    private var descriptor: Int32 = -1
    private(set) var size = 0
    private var reportedFailure = false

    init(directory: String, fileName: String, maxBytes: Int, backupCount: Int) {
        self.directory = directory
        self.path = directory.hasSuffix("/") ? directory + fileName : directory + "/" + fileName
        self.maxBytes = max(0, maxBytes)
        self.backupCount = max(0, backupCount)
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    /// Writes `lines` (each ending in `\n`), rotating between lines as needed.
    func write<Lines: Sequence>(lines: Lines) where Lines.Element == String {
        guard openIfNeeded() else { return }
        var pending: [UInt8] = []
        pending.reserveCapacity(maxBytes > 0 ? min(maxBytes, 1 << 20) : 1 << 16)
        for line in lines {
            var bytes = Array(line.utf8)
            if maxBytes > 0 {
                if bytes.count > maxBytes {
                    bytes = Self.cut(bytes, toFit: maxBytes)
                }
                if size + pending.count > 0, size + pending.count + bytes.count > maxBytes {
                    flush(&pending)
                    rotate()
                }
            }
            pending.append(contentsOf: bytes)
        }
        flush(&pending)
    }

    /// Cuts an over-long line so that it and its marker fit in `limit` bytes, on a UTF-8 boundary.
    static func cut(_ bytes: [UInt8], toFit limit: Int) -> [UInt8] {
        func marker(_ omitted: Int) -> [UInt8] { Array(" [record cut: \(omitted) bytes omitted]\n".utf8) }
        let content = bytes.count - 1  // without the final newline
        // The marker for `content` omitted bytes is the longest possible one, so this end always fits.
        var end = max(0, min(content, limit - marker(content).count))
        while end > 0, bytes[end] & 0xC0 == 0x80 { end -= 1 }
        let tail = marker(content - end)
        if end + tail.count > limit {
            // A limit too small even for the marker: keep what fits and end the line.
            var end = max(0, min(content, limit - 1))
            while end > 0, bytes[end] & 0xC0 == 0x80 { end -= 1 }
            return Array(bytes[..<end]) + [0x0A]
        }
        return Array(bytes[..<end]) + tail
    }

    private func flush(_ pending: inout [UInt8]) {
        guard !pending.isEmpty else { return }
        defer { pending.removeAll(keepingCapacity: true) }
        guard openIfNeeded() else { return }
        let ok = pending.withUnsafeBytes { raw -> Bool in
            var offset = 0
            while offset < raw.count {
                let written = Glibc_write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += written
            }
            return true
        }
        if ok {
            size += pending.count
        } else {
            reportFailure("write to \(path) failed (errno \(errno))")
            close(descriptor)
            descriptor = -1
        }
    }

    private func rotate() {
        if descriptor >= 0 {
            close(descriptor)
            descriptor = -1
        }
        if backupCount > 0 {
            for index in stride(from: backupCount - 1, through: 1, by: -1) {
                let source = "\(path).\(index)"
                if access(source, F_OK) == 0 {
                    rename(source, "\(path).\(index + 1)")
                }
            }
            rename(path, "\(path).1")
        } else {
            unlink(path)
        }
        size = 0
        _ = openIfNeeded()
    }

    @discardableResult
    private func openIfNeeded() -> Bool {
        if descriptor >= 0 { return true }
        Self.makeDirectories(directory)
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            reportFailure("cannot open \(path) (errno \(errno))")
            return false
        }
        // The size is where the end of the file is (opened for appending); no `struct stat`, which resolves
        // through Dispatch's module in optimised builds.
        let end = lseek(fd, 0, SEEK_END)
        size = end >= 0 ? Int(end) : 0
        descriptor = fd
        reportedFailure = false
        return true
    }

    private func reportFailure(_ text: String) {
        guard !reportedFailure else { return }
        reportedFailure = true
        let message = Array("microblog: log file: \(text)\n".utf8)
        _ = message.withUnsafeBytes { Glibc_write(2, $0.baseAddress!, $0.count) }
    }

    /// `mkdir -p`.
    static func makeDirectories(_ directory: String) {
        guard !directory.isEmpty else { return }
        var current = directory.hasPrefix("/") ? "/" : ""
        for component in directory.split(separator: "/") {
            current += component
            mkdir(current, 0o755)
            current += "/"
        }
    }
}

/// `write(2)` under a name that does not clash with the writer's own `write(lines:)`.
@inline(__always)
private func Glibc_write(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Darwin)
    return Darwin.write(fd, buffer, count)
    #elseif canImport(Musl)
    return Musl.write(fd, buffer, count)
    #else
    return Glibc.write(fd, buffer, count)
    #endif
}
