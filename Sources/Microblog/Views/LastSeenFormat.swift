import Foundation

/// "Last seen on" times, in UTC.
enum LastSeenFormat {
    /// `yyyy-MM-dd HH:mm:ss UTC`, to the second below.
    static func string(from date: Date) -> String {
        var out = ""
        CivilTime(unixSeconds: Int64(date.timeIntervalSince1970.rounded(.down))).appendDateTime(to: &out)
        out += " UTC"
        return out
    }
}
