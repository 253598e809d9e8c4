#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A system call on the log file that failed: what was attempted and the `errno`, worded for an operator
/// (`cannot open logs/microblog.log: Not a directory (errno 20)`).
struct LogFileError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What was attempted, after "cannot": `open logs/microblog.log`, `rename a to b`.
    var action: String
    var code: Int32

    /// The failure of `action` with the current `errno`.
    static func lastError(_ action: String) -> LogFileError {
        LogFileError(action: action, code: errno)
    }

    var description: String {
        "cannot \(action): \(String(cString: strerror(code))) (errno \(code))"
    }
}
