import Foundation

/// The domain checks both engines apply to values they read back, beyond the column's type: what the rest of the
/// server may assume of a stored date or count. A value outside them was written behind the server's back, and
/// reading it is ``StoreError/undecodable(column:location:)`` (a 500), never a value that traps further up.
enum StoredValue {
    /// The dates a store hands out: the years 1 to 9999, what the pages, the log and the mail print with four
    /// digits. (PostgreSQL's `infinity` and SQLite's 1e300 seconds are outside.)
    static let dates = Date(timeIntervalSince1970: -62_135_596_800)...Date(timeIntervalSince1970: 253_402_300_799)

    /// The counts a store hands out (failed logins): never negative, and far from overflowing when one is added.
    static let counts: ClosedRange<Int64> = 0...Int64(Int32.max)

    /// `date` when it lies in ``dates``.
    static func date(_ date: Date, column: String) throws(StoreError) -> Date {
        guard dates.contains(date) else { throw .undecodable(column: column, location: "") }
        return date
    }

    /// `count` when it lies in ``counts``.
    static func count(_ count: Int64, column: String) throws(StoreError) -> Int {
        guard counts.contains(count) else { throw .undecodable(column: column, location: "") }
        return Int(count)
    }
}
