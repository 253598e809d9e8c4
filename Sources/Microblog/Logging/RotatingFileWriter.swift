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
/// (it may be exactly `maxBytes`) while it can be rotated; a single line longer than that is cut to fit, ending
/// with a marker. `maxBytes == 0` never rotates; `backupCount == 0` truncates instead of keeping backups.
///
/// Faults (the caller counts and reports them from the ``LogFileWriteOutcome``; the writer never prints):
/// - A rename that fails during rotation stops the shifting at once: no backup is deleted or overwritten, the
///   current file is kept and grows past `maxBytes` until a rotation succeeds. Rotation is tried again on the next
///   `write(lines:)` (once per call while it fails).
/// - When the file cannot be opened or written (folder missing or not a folder, disk full, read-only), the lines
///   of that call from the failing one on are lost; the file keeps whole lines only (a partly written line is
///   truncated away, which needs no space). The next call tries again, so logging resumes as soon as the file can
///   be written.
///
/// Not thread-safe: owned by one writer (the ``LogSink`` actor). Many lines go out in one `write(2)` per file.
final class RotatingFileWriter {
    let directory: String
    let path: String
    let maxBytes: Int
    let backupCount: Int
    private var descriptor: Int32 = -1
    private(set) var size = 0

    init(directory: String, fileName: String, maxBytes: Int, backupCount: Int) {
        self.directory = directory
        self.path = directory.hasSuffix("/") ? directory + fileName : directory + "/" + fileName
        self.maxBytes = max(0, maxBytes)
        self.backupCount = max(0, backupCount)
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    /// Writes `lines` (UTF-8, each ending in `\n`), rotating between lines as needed. The lines written are the
    /// first `written` of them, whole and in order; the others are lost, and the outcome says why.
    @discardableResult
    func write<Lines: Sequence>(lines: Lines) -> LogFileWriteOutcome where Lines.Element == [UInt8] {
        var outcome = LogFileWriteOutcome()
        var pending = PendingLines(capacity: maxBytes > 0 ? min(maxBytes, 1 << 20) : 1 << 16)
        var rotationBlocked = false
        for line in lines {
            guard outcome.failure == nil else {
                outcome.lost += 1
                continue
            }
            if let error = openIfNeeded() {
                outcome.failure = error
                outcome.lost += 1
                continue
            }
            var bytes = line
            if maxBytes > 0 {
                if bytes.count > maxBytes {
                    bytes = Self.cut(bytes, toFit: maxBytes)
                }
                if !rotationBlocked, size + pending.count > 0, size + pending.count + bytes.count > maxBytes {
                    if let error = flush(&pending, into: &outcome) {
                        outcome.failure = error
                        outcome.lost += 1
                        continue
                    }
                    rotate(&outcome)
                    rotationBlocked = outcome.rotationFailure != nil
                    if let error = openIfNeeded() {
                        outcome.failure = error
                        outcome.lost += 1
                        continue
                    }
                }
            }
            pending.append(bytes)
        }
        if let error = flush(&pending, into: &outcome) {
            outcome.failure = error
        }
        return outcome
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

    /// Writes the pending lines; on failure keeps the whole lines that got in, truncates a partial one away and
    /// closes the file (the next write opens it again).
    private func flush(_ pending: inout PendingLines, into outcome: inout LogFileWriteOutcome) -> LogFileError? {
        guard !pending.isEmpty else { return nil }
        defer { pending.removeAll() }
        if let error = openIfNeeded() {
            outcome.lost += pending.lineCount
            return error
        }
        var offset = 0
        var failure: LogFileError?
        pending.bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            while offset < raw.count {
                let written = Glibc_write(descriptor, base + offset, raw.count - offset)
                if written < 0, errno == EINTR { continue }
                guard written > 0 else {
                    failure = written < 0 ? .lastError("write \(path)") : LogFileError(action: "write \(path)", code: EIO)
                    return
                }
                offset += written
            }
        }
        guard let failure else {
            size += pending.count
            outcome.written += pending.lineCount
            return nil
        }
        let whole = pending.wholeLines(in: offset)
        if offset > whole.bytes {
            // A torn line would be glued to the next one written: cut it off (shrinking needs no space).
            _ = ftruncate(descriptor, off_t(size + whole.bytes))
        }
        size += whole.bytes
        outcome.written += whole.lines
        outcome.lost += pending.lineCount - whole.lines
        close(descriptor)
        descriptor = -1
        return failure
    }

    /// Shifts the backups and starts a new file. Only the backups below the first free slot move, so that the oldest
    /// is replaced only when every slot is taken (a gap left by an interrupted rotation is filled, not shifted on).
    /// Stops at the first rename that fails, so that no backup is ever overwritten, and keeps the current file open.
    private func rotate(_ outcome: inout LogFileWriteOutcome) {
        if backupCount > 0 {
            var free = 1
            while free < backupCount, access("\(path).\(free)", F_OK) == 0 { free += 1 }
            for index in stride(from: free - 1, through: 1, by: -1) {
                let source = "\(path).\(index)"
                let target = "\(path).\(index + 1)"
                if rename(source, target) != 0 {
                    outcome.rotationFailure = .lastError("rename \(source) to \(target)")
                    return
                }
            }
            // ENOENT: the file was removed under us; there is nothing to keep.
            if rename(path, "\(path).1") != 0, errno != ENOENT {
                outcome.rotationFailure = .lastError("rename \(path) to \(path).1")
                return
            }
        } else if unlink(path) != 0, errno != ENOENT {
            outcome.rotationFailure = .lastError("remove \(path)")
            return
        }
        outcome.rotated = true
        close(descriptor)
        descriptor = -1
        size = 0
    }

    /// Opens the file for appending (creating its folder) unless it is open.
    private func openIfNeeded() -> LogFileError? {
        if descriptor >= 0 { return nil }
        Self.makeDirectories(directory)
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return .lastError("open \(path)") }
        // The size is where the end of the file is (opened for appending); no `struct stat`, which resolves
        // through Dispatch's module in optimised builds.
        let end = lseek(fd, 0, SEEK_END)
        size = end >= 0 ? Int(end) : 0
        descriptor = fd
        return nil
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

/// What one ``RotatingFileWriter/write(lines:)`` did. The lines written are the first `written` given, whole and in
/// order; the `lost` others never reached the file.
struct LogFileWriteOutcome: Equatable {
    var written = 0
    var lost = 0
    /// Why lines were lost: the file could not be opened or written.
    var failure: LogFileError?
    /// Why the file was not rotated when it was full (it grew past the limit instead; no backup was touched).
    var rotationFailure: LogFileError?
    /// Whether the file was rotated at least once.
    var rotated = false
}

/// Lines waiting for one `write(2)`: their bytes and where each ends, to tell whole lines from a torn one.
private struct PendingLines {
    private(set) var bytes: [UInt8] = []
    private var ends: [Int] = []

    init(capacity: Int) {
        bytes.reserveCapacity(capacity)
    }

    var count: Int { bytes.count }
    var lineCount: Int { ends.count }
    var isEmpty: Bool { ends.isEmpty }

    mutating func append(_ line: [UInt8]) {
        bytes.append(contentsOf: line)
        ends.append(bytes.count)
    }

    mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
    }

    /// The whole lines within the first `offset` bytes: how many, and their length.
    func wholeLines(in offset: Int) -> (lines: Int, bytes: Int) {
        let lines = ends.prefix { $0 <= offset }.count
        return (lines, lines > 0 ? ends[lines - 1] : 0)
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
