import GRDBSQLite

/// A second connection, opened with SQLite's C API as another process would, that holds the database's write
/// lock (`BEGIN IMMEDIATE`) until released. GRDB itself refuses to leave a transaction open.
final class WriteLockHolder {
    private var connection: OpaquePointer?

    init(path: String) throws {
        guard sqlite3_open(path, &connection) == SQLITE_OK else { throw LockError.open }
        guard sqlite3_exec(connection, "BEGIN IMMEDIATE", nil, nil, nil) == SQLITE_OK else { throw LockError.begin }
    }

    func release() {
        sqlite3_exec(connection, "ROLLBACK", nil, nil, nil)
        sqlite3_close(connection)
        connection = nil
    }

    deinit {
        if connection != nil { release() }
    }

    enum LockError: Error {
        case open
        case begin
    }
}
