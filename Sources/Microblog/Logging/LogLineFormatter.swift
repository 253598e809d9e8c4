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
        var out = ""
        out.reserveCapacity(record.message.utf8.count + 96)
        appendTimestamp(seconds: record.seconds, nanoseconds: record.nanoseconds, to: &out)
        out += " "
        out += levelName(record.level)
        out += ": "
        appendEscaped(record.message, to: &out)
        if !record.metadata.isEmpty {
            for key in record.metadata.keys.sorted() {
                guard let value = record.metadata[key] else { continue }
                out += " "
                appendEscaped(key, to: &out)
                out += "="
                appendValue(value, to: &out)
            }
        }
        out += " [in "
        appendEscaped(sourcePath(record.file), to: &out)
        out += ":"
        out += String(record.line)
        out += "]\n"
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
    static func appendTimestamp(seconds: Int64, nanoseconds: Int32, to out: inout String) {
        CivilTime(unixSeconds: seconds).appendDateTime(to: &out)
        out += ","
        CivilTime.appendPadded(Int64(nanoseconds / 1_000_000), width: 3, to: &out)
    }

    private static func appendValue(_ value: Logger.MetadataValue, to out: inout String) {
        let text: String
        switch value {
        case .string(let string): text = string
        case .stringConvertible(let convertible): text = convertible.description
        case .array, .dictionary: text = value.description
        }
        let needsQuotes = text.isEmpty || text.utf8.contains { $0 == 0x20 || $0 == 0x22 || $0 == 0x3D }
        if needsQuotes {
            out += "\""
            appendEscaped(text, to: &out, escapingQuotes: true)
            out += "\""
        } else {
            appendEscaped(text, to: &out)
        }
    }

    /// Appends `text` with control characters escaped so it cannot break the line.
    static func appendEscaped(_ text: String, to out: inout String, escapingQuotes: Bool = false) {
        let clean = !text.utf8.contains { byte in
            byte < 0x20 || byte == 0x7F || byte == 0x5C || byte >= 0x80 || (escapingQuotes && byte == 0x22)
        }
        if clean {
            out += text
            return
        }
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0x5C: out += "\\\\"
            case 0x22 where escapingQuotes: out += "\\\""
            case 0x00..<0x20, 0x7F, 0x80...0x9F, 0x2028, 0x2029:
                out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            default:
                out.unicodeScalars.append(scalar)
            }
        }
    }
}
