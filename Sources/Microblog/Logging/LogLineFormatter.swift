import Logging

/// Formats records in the tutorial's layout, one record per line.
///
/// `2026-11-26 10:00:00,123 INFO: message key=value [in Microblog/MainController.swift:42]`
///
/// - Timestamps are **UTC**, milliseconds after a comma like Python's `asctime`.
/// - Levels are DEBUG (trace and debug), INFO (info and notice), WARNING, ERROR, CRITICAL.
/// - Metadata follows the message as `key=value` pairs sorted by key; values with spaces, quotes or `=` are quoted.
/// - CR, LF, TAB, other C0/C1 control characters, U+2028/U+2029 and the backslash are escaped
///   (`\n`, `\r`, `\t`, `\u{1B}`, `\\`), so one record is always one line.
enum LogLineFormatter {
    /// The level's name as the log file shows it.
    static func levelName(_ level: Logger.Level) -> String {
        switch level {
        case .trace, .debug: "DEBUG"
        case .info, .notice: "INFO"
        case .warning: "WARNING"
        case .error: "ERROR"
        case .critical: "CRITICAL"
        }
    }

    /// The whole line for `record`, ending in `\n`.
    static func format(_ record: LogRecord) -> String {
        String(decoding: line(record), as: UTF8.self)
    }

    /// The whole line for `record` as UTF-8, ending in `\n`: what the sink writes.
    static func line(_ record: LogRecord) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(record.message.utf8.count + 128)
        appendTimestamp(seconds: record.seconds, nanoseconds: record.nanoseconds, to: &out)
        out.append(0x20)
        out.append(contentsOf: levelName(record.level).utf8)
        out.append(contentsOf: ": ".utf8)
        appendEscaped(record.message, to: &out)
        for (key, value) in record.sortedMetadata {
            out.append(0x20)
            appendEscaped(key, to: &out)
            out.append(0x3D)
            appendValue(value, to: &out)
        }
        out.append(contentsOf: " [in ".utf8)
        appendEscaped(sourcePath(record.file), to: &out)
        out.append(0x3A)
        out.append(contentsOf: String(record.line).utf8)
        out.append(contentsOf: "]\n".utf8)
        return out
    }

    /// The location as logged: swift-log passes `#fileID` (`Microblog/MainController.swift`), shown as is;
    /// an absolute `#filePath` is shortened to its part from `Sources/` or `Tests/`.
    static func sourcePath(_ file: String) -> String {
        guard file.hasPrefix("/") else { return file }
        let parts = file.split(separator: "/", omittingEmptySubsequences: false)
        guard let start = parts.lastIndex(where: { $0 == "Sources" || $0 == "Tests" }) else { return file }
        return parts[start...].joined(separator: "/")
    }

    /// `yyyy-MM-dd HH:mm:ss,SSS` in UTC.
    static func appendTimestamp(seconds: Int64, nanoseconds: Int32, to out: inout [UInt8]) {
        CivilTime(unixSeconds: seconds).appendDateTime(to: &out)
        out.append(0x2C)
        CivilTime.appendPadded(Int64(nanoseconds / 1_000_000), width: 3, to: &out)
    }

    private static func appendValue(_ value: Logger.MetadataValue, to out: inout [UInt8]) {
        let text: String
        switch value {
        case .string(let string): text = string
        case .stringConvertible(let convertible): text = convertible.description
        case .array, .dictionary: text = value.description
        }
        let needsQuotes = text.isEmpty || containsByte(in: text) { $0 == 0x20 || $0 == 0x22 || $0 == 0x3D }
        if needsQuotes {
            out.append(0x22)
            appendEscaped(text, to: &out, escapingQuotes: true)
            out.append(0x22)
        } else {
            appendEscaped(text, to: &out)
        }
    }

    /// Appends `text` with control characters escaped so it cannot break the line.
    static func appendEscaped(_ text: String, to out: inout [UInt8], escapingQuotes: Bool = false) {
        let clean = !containsByte(in: text) { byte in
            byte < 0x20 || byte == 0x7F || byte == 0x5C || byte >= 0x80 || (escapingQuotes && byte == 0x22)
        }
        if clean {
            out.append(contentsOf: text.utf8)
            return
        }
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x0A: out.append(contentsOf: "\\n".utf8)
            case 0x0D: out.append(contentsOf: "\\r".utf8)
            case 0x09: out.append(contentsOf: "\\t".utf8)
            case 0x5C: out.append(contentsOf: "\\\\".utf8)
            case 0x22 where escapingQuotes: out.append(contentsOf: "\\\"".utf8)
            case 0x00..<0x20, 0x7F, 0x80...0x9F, 0x2028, 0x2029:
                out.append(contentsOf: "\\u{".utf8)
                out.append(contentsOf: String(scalar.value, radix: 16, uppercase: true).utf8)
                out.append(0x7D)
            default:
                if let encoded = UTF8.encode(scalar) { out.append(contentsOf: encoded) }
            }
        }
    }

    /// Whether a UTF-8 byte of `text` matches, scanning contiguous storage in a plain loop when the string has it.
    @inline(__always)
    private static func containsByte(in text: String, where matches: (UInt8) -> Bool) -> Bool {
        if let found = text.utf8.withContiguousStorageIfAvailable({ bytes in
            for byte in bytes where matches(byte) { return true }
            return false
        }) {
            return found
        }
        return text.utf8.contains(where: matches)
    }
}
