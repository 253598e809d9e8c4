/// A UTC calendar date and time of day from Unix seconds, without Foundation's formatters (log lines, mail headers
/// and the last-seen time of profile pages are formatted on hot or dependency-free paths). Howard Hinnant's
/// `civil_from_days`.
struct CivilTime: Equatable {
    var year: Int64
    var month: Int64
    var day: Int64
    var hour: Int64
    var minute: Int64
    var second: Int64
    /// 0 = Sunday ... 6 = Saturday.
    var weekday: Int

    init(unixSeconds seconds: Int64) {
        let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let secondOfDay = seconds - days * 86400
        weekday = Int((days % 7 + 7 + 4) % 7)  // 1970-01-01 was a Thursday
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        day = doy - (153 * mp + 2) / 5 + 1
        month = mp < 10 ? mp + 3 : mp - 9
        year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        hour = secondOfDay / 3600
        minute = secondOfDay / 60 % 60
        second = secondOfDay % 60
    }

    /// Appends `yyyy-MM-dd HH:mm:ss`.
    func appendDateTime(to out: inout String) {
        forEachDateTimeByte { out.unicodeScalars.append(Unicode.Scalar($0)) }
    }

    /// Appends `yyyy-MM-dd HH:mm:ss` as ASCII bytes.
    func appendDateTime(to out: inout [UInt8]) {
        forEachDateTimeByte { out.append($0) }
    }

    /// Appends `value` in decimal, zero-padded to `width` digits, as ASCII bytes.
    static func appendPadded(_ value: Int64, width: Int, to out: inout [UInt8]) {
        forEachDigit(of: value, width: width) { out.append($0) }
    }

    @inline(__always)
    private func forEachDateTimeByte(_ emit: (UInt8) -> Void) {
        Self.forEachDigit(of: year, width: 4, emit)
        emit(0x2D)
        Self.forEachDigit(of: month, width: 2, emit)
        emit(0x2D)
        Self.forEachDigit(of: day, width: 2, emit)
        emit(0x20)
        Self.forEachDigit(of: hour, width: 2, emit)
        emit(0x3A)
        Self.forEachDigit(of: minute, width: 2, emit)
        emit(0x3A)
        Self.forEachDigit(of: second, width: 2, emit)
    }

    /// The ASCII digits of `value`, zero-padded to `width`, most significant first (a negative value as `String` has it).
    @inline(__always)
    private static func forEachDigit(of value: Int64, width: Int, _ emit: (UInt8) -> Void) {
        guard value >= 0 else {
            for byte in String(value).utf8 { emit(byte) }
            return
        }
        var divisor: Int64 = 1
        var count = 1
        while value / divisor >= 10 {
            divisor *= 10
            count += 1
        }
        for _ in count..<max(width, count) { emit(0x30) }
        var rest = value
        while divisor > 0 {
            emit(0x30 + UInt8(rest / divisor))
            rest %= divisor
            divisor /= 10
        }
    }
}
