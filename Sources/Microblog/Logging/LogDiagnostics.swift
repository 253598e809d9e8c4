#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the sink reports that the log file fails (one line per call, without the newline) and how often at most:
/// the standard error in production, a collector in tests.
struct LogDiagnostics: Sendable {
    /// Writes one line.
    var report: @Sendable (String) -> Void
    /// After a line about an outage, the next outage is not announced for this long (see ``LogFileMonitor``).
    var quietPeriod: Duration

    /// Lines to the standard error, one `write(2)` each; outages announced at most once a minute.
    static let standardError = LogDiagnostics(
        report: { line in
            let bytes = Array((line + "\n").utf8)
            _ = bytes.withUnsafeBytes { raw in
                guard let base = raw.baseAddress else { return 0 }
                #if canImport(Darwin)
                return Darwin.write(2, base, raw.count)
                #elseif canImport(Musl)
                return Musl.write(2, base, raw.count)
                #else
                return Glibc.write(2, base, raw.count)
                #endif
            }
        },
        quietPeriod: .seconds(60)
    )
}
