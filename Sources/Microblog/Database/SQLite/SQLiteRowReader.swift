import Foundation
import GRDB
import GRDBSQLite

/// Reads the rows of one SQLite statement column by column, strictly, through paths that throw.
///
/// A row on disk is outside data: anyone with the file can write any value of any storage class into any column.
/// Each accessor checks the storage class its column must have (TEXT for text, INTEGER for ids and counts, BLOB for
/// bytes, a date GRDB wrote for dates), that text is valid UTF-8 and that a date is in ``StoredValue/dates``, and
/// throws ``StoreError/undecodable(column:location:)`` naming the column (never the value) otherwise. GRDB's
/// `row[...]` subscript traps on such a value, and its text decoding replaces invalid UTF-8 silently.
///
/// Columns are found by their exact name in the statement's result (`AS` names included), once per statement.
struct SQLiteRowReader {
    private let statement: Statement
    private let names: [String]

    private init(_ statement: Statement) {
        self.statement = statement
        self.names = statement.columnNames
    }

    /// Steps `statement` with `arguments` and calls `body` with the reader while each row is current.
    static func forEachRow(
        _ statement: Statement,
        arguments: StatementArguments = [],
        _ body: (SQLiteRowReader) throws(StoreError) -> Void
    ) throws {
        let rows = try Row.fetchCursor(statement, arguments: arguments)
        let reader = SQLiteRowReader(statement)
        while try rows.next() != nil {
            try body(reader)
        }
    }

    /// What `read` makes of the first row of `statement`, or nil when it has none.
    static func first<T>(
        _ statement: Statement,
        arguments: StatementArguments = [],
        _ read: (SQLiteRowReader) throws(StoreError) -> T
    ) throws -> T? {
        let rows = try Row.fetchCursor(statement, arguments: arguments)
        guard try rows.next() != nil else { return nil }
        return try read(SQLiteRowReader(statement))
    }

    // MARK: Values

    /// Whether the column holds NULL.
    func isNull(_ name: String) throws(StoreError) -> Bool {
        try storageClass(index(name)) == SQLITE_NULL
    }

    /// An INTEGER.
    func int64(_ name: String) throws(StoreError) -> Int64 {
        guard let value = try optionalInt64(name) else { throw Self.undecodable(name) }
        return value
    }

    /// An INTEGER, or nil for NULL.
    func optionalInt64(_ name: String) throws(StoreError) -> Int64? {
        let column = try index(name)
        switch storageClass(column) {
        case SQLITE_NULL: return nil
        case SQLITE_INTEGER: return sqlite3_column_int64(statement.sqliteStatement, column)
        default: throw Self.undecodable(name)
        }
    }

    /// A boolean: the INTEGER 0 or 1 (what `EXISTS` answers).
    func bool(_ name: String) throws(StoreError) -> Bool {
        switch try int64(name) {
        case 0: return false
        case 1: return true
        default: throw Self.undecodable(name)
        }
    }

    /// TEXT that is valid UTF-8.
    func text(_ name: String) throws(StoreError) -> String {
        guard let value = try optionalText(name) else { throw Self.undecodable(name) }
        return value
    }

    /// TEXT that is valid UTF-8, or nil for NULL.
    func optionalText(_ name: String) throws(StoreError) -> String? {
        let column = try index(name)
        switch storageClass(column) {
        case SQLITE_NULL:
            return nil
        case SQLITE_TEXT:
            // sqlite3_column_text first, then sqlite3_column_bytes: the count is of the text it returned.
            guard let bytes = sqlite3_column_text(statement.sqliteStatement, column) else { throw Self.undecodable(name) }
            let count = Int(sqlite3_column_bytes(statement.sqliteStatement, column))
            guard let text = String(validating: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self) else {
                throw Self.undecodable(name)
            }
            return text
        default:
            throw Self.undecodable(name)
        }
    }

    /// A BLOB.
    func blob(_ name: String) throws(StoreError) -> Data {
        let column = try index(name)
        guard storageClass(column) == SQLITE_BLOB else { throw Self.undecodable(name) }
        let count = Int(sqlite3_column_bytes(statement.sqliteStatement, column))
        guard count > 0, let bytes = sqlite3_column_blob(statement.sqliteStatement, column) else { return Data() }
        return Data(bytes: bytes, count: count)
    }

    /// A date as GRDB stores `Date` (TEXT `yyyy-MM-dd HH:mm:ss.SSS`, or a number of seconds since 1970), within
    /// ``StoredValue/dates``.
    func date(_ name: String) throws(StoreError) -> Date {
        let column = try index(name)
        switch storageClass(column) {
        case SQLITE_TEXT, SQLITE_INTEGER, SQLITE_FLOAT:
            guard let date = Date.fromDatabaseValue(DatabaseValue(sqliteStatement: statement.sqliteStatement, index: column))
            else { throw Self.undecodable(name) }
            return try StoredValue.date(date, column: name)
        default:
            throw Self.undecodable(name)
        }
    }

    /// A number of seconds since 1970 (REAL or INTEGER) as a date within ``StoredValue/dates``.
    func epochDate(_ name: String) throws(StoreError) -> Date {
        guard let date = try optionalEpochDate(name) else { throw Self.undecodable(name) }
        return date
    }

    /// A number of seconds since 1970 (REAL or INTEGER) as a date within ``StoredValue/dates``, or nil for NULL.
    func optionalEpochDate(_ name: String) throws(StoreError) -> Date? {
        let column = try index(name)
        switch storageClass(column) {
        case SQLITE_NULL:
            return nil
        case SQLITE_INTEGER, SQLITE_FLOAT:
            let seconds = sqlite3_column_double(statement.sqliteStatement, column)
            return try StoredValue.date(Date(timeIntervalSince1970: seconds), column: name)
        default:
            throw Self.undecodable(name)
        }
    }

    // MARK: Columns

    private func index(_ name: String) throws(StoreError) -> Int32 {
        // A name the statement lacks is a mistake in this module's SQL, not in the data; it fails the same way.
        guard let index = names.firstIndex(of: name) else { throw Self.undecodable(name) }
        return Int32(index)
    }

    private func storageClass(_ column: Int32) -> Int32 {
        sqlite3_column_type(statement.sqliteStatement, column)
    }

    private static func undecodable(_ name: String) -> StoreError {
        .undecodable(column: name, location: "")
    }
}
