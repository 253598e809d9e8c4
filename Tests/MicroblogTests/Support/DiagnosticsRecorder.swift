import NIOConcurrencyHelpers

@testable import Microblog

/// Keeps what a ``LogSink`` reports about its log file, in order, instead of writing it to the standard error.
final class DiagnosticsRecorder: Sendable {
    private let lines = NIOLockedValueBox<[String]>([])

    /// Everything reported so far, one entry per stderr line.
    var reported: [String] {
        lines.withLockedValue { $0 }
    }

    /// Diagnostics that report here, announcing outages at most once per `quietPeriod`.
    func diagnostics(quietPeriod: Duration = .seconds(60)) -> LogDiagnostics {
        LogDiagnostics(report: { line in self.lines.withLockedValue { $0.append(line) } }, quietPeriod: quietPeriod)
    }

    /// A sink that reports here.
    func sink(_ configuration: LogConfiguration) -> LogSink {
        LogSink(configuration: configuration, mail: nil, diagnostics: diagnostics())
    }
}
