@testable import Microblog

extension RotatingFileWriter {
    /// Writes lines given as text (the sink hands over UTF-8 bytes).
    @discardableResult
    func write(lines: [String]) -> LogFileWriteOutcome {
        write(lines: lines.map { Array($0.utf8) })
    }
}
