import Foundation
import GRDB
import GRDBSQLite

/// The microblog's ``Store`` in one SQLite database (GRDB, WAL), migrated on open: the embedded default.
///
/// Every write method is a single transaction (GRDB opens it as `BEGIN IMMEDIATE`), and every invariant that
/// matters is also a constraint of the schema, so a bug above this layer cannot store a duplicate username.
/// Methods throw ``StoreError``: GRDB's errors never travel further up.
package struct SQLiteStore: Store {
    /// The GRDB writer (a `DatabasePool` in WAL mode for files).
    let writer: any DatabaseWriter
    /// Test-only hooks called inside write transactions; empty in production.
    let faults: DatabaseFaults
    /// How long one read or write may run (stopped by ``SQLiteStatementDeadline``, on files opened by ``openFile``).
    let budget: StatementBudget

    /// Wraps a writer and runs the migrations that are not applied yet. A database that needs none is never
    /// written to here, so a read-only file with an up-to-date schema can still be served (writes answer 503).
    /// - Throws: ``StoreError`` when the file is not a microblog database or cannot be migrated.
    package init(_ writer: any DatabaseWriter, faults: DatabaseFaults = .none, budget: StatementBudget = StatementBudget()) throws(StoreError) {
        self.writer = writer
        self.faults = faults
        self.budget = budget
        do {
            let upToDate = try writer.read { db in try Self.migrator.hasCompletedMigrations(db) }
            if !upToDate { try Self.migrator.migrate(writer) }
        } catch {
            throw StoreError(error)
        }
    }

    /// Opens (creating if needed) the SQLite file at `path` in WAL mode with a busy timeout.
    /// - Parameters:
    ///   - path: the database file.
    ///   - busyTimeout: how long a write waits for another connection's lock before failing with `.busy`.
    ///   - budget: how long one read or write may run before it is stopped with `.timedOut`.
    package static func openFile(
        atPath path: String,
        busyTimeout: Duration = .seconds(5),
        budget: StatementBudget = StatementBudget(),
        faults: DatabaseFaults = .none
    ) throws(StoreError) -> SQLiteStore {
        var configuration = Configuration()
        configuration.prepareDatabase { db in SQLiteStatementDeadline.install(on: db) }
        configuration.busyMode = .timeout(busyTimeout.seconds)
        configuration.foreignKeysEnabled = true
        configuration.maximumReaderCount = 8
        do {
            let pool: DatabasePool
            do {
                pool = try DatabasePool(path: path, configuration: configuration)
            } catch let error as DatabaseError where error.resultCode == .SQLITE_READONLY {
                // A file without write permission (or on a read-only mount): serve what it holds; every write
                // then fails as `.unavailable(.readOnly)`, a 503 page and an ERROR record.
                var readOnly = configuration
                readOnly.readonly = true
                pool = try DatabasePool(path: path, configuration: readOnly)
            }
            // A file that is not a database passes the open: reading its schema is what fails.
            try pool.read { db in _ = try db.tableExists("user") }
            return try SQLiteStore(pool, faults: faults, budget: budget)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(error)
        }
    }

    /// Whether the database was opened read-only (its file cannot be written): every write will fail.
    package var isReadOnly: Bool { writer.configuration.readonly }

    /// Runs `body` in one write transaction, converting GRDB's errors into ``StoreError`` that remembers the
    /// calling storage method.
    func write<T: Sendable>(
        file: StaticString = #fileID,
        line: UInt = #line,
        _ body: @escaping @Sendable (Database) throws -> T
    ) async throws(StoreError) -> T {
        let budget = budget.writes
        do {
            return try await writer.write { db in
                // In WAL mode SQLite keeps writing into a deleted or replaced file, and those writes vanish at
                // close: refuse them rather than acknowledge a write that is lost.
                if Self.fileHasMoved(db) { throw StoreError.unavailable(.moved) }
                return try SQLiteStatementDeadline.run(within: budget) { try body(db) }
            }
        } catch {
            throw StoreError(error, location: "\(file):\(line)")
        }
    }

    /// Reads the schema on a read connection; a file deleted or replaced under the server is `.moved`.
    package func checkHealth() async throws(StoreError) {
        try await readOneStatement { db in
            if Self.fileHasMoved(db) { throw StoreError.unavailable(.moved) }
            _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master")
        }
    }

    /// Whether the database file was deleted, renamed or replaced since the connection opened it.
    private static func fileHasMoved(_ db: Database) -> Bool {
        var moved: Int32 = 0
        let status = sqlite3_file_control(db.sqliteConnection, "main", SQLITE_FCNTL_HAS_MOVED, &moved)
        return status == SQLITE_OK && moved != 0
    }

    /// Runs `body`, which executes exactly one statement, on a read connection without a transaction of its own:
    /// one statement reads one snapshot by itself, and skipping `BEGIN`/`COMMIT` is a measurable share of a page
    /// (the hot reads: session, user, posts). Anything that executes two statements uses ``read(file:line:_:)``.
    func readOneStatement<T: Sendable>(
        file: StaticString = #fileID,
        line: UInt = #line,
        _ body: @escaping @Sendable (Database) throws -> T
    ) async throws(StoreError) -> T {
        try await read(inTransaction: false, file: file, line: line, body)
    }

    /// Runs `body` on a read connection, in one read transaction, converting GRDB's errors into ``StoreError``.
    func read<T: Sendable>(
        file: StaticString = #fileID,
        line: UInt = #line,
        _ body: @escaping @Sendable (Database) throws -> T
    ) async throws(StoreError) -> T {
        try await read(inTransaction: true, file: file, line: line, body)
    }

    /// A read within the read budget, its errors as ``StoreError`` that remember the calling storage method.
    private func read<T: Sendable>(
        inTransaction: Bool,
        file: StaticString,
        line: UInt,
        _ body: @escaping @Sendable (Database) throws -> T
    ) async throws(StoreError) -> T {
        let budget = budget.reads
        do {
            return try await Self.readOnDispatchPool(writer, transaction: inTransaction) { db in
                try SQLiteStatementDeadline.run(within: budget) { try body(db) }
            }
        } catch {
            throw StoreError(error, location: "\(file):\(line)")
        }
    }

    /// Runs GRDB's synchronous read on a thread of Dispatch's global pool and resumes the caller with the result:
    /// one thread hop there and one back, where GRDB's async read makes two round trips (to its pool's semaphore
    /// queue, then to the reader connection's queue). The read never runs on Swift's cooperative threads, so a read
    /// that has to wait never holds one of them.
    private static func readOnDispatchPool<T: Sendable>(
        _ writer: any DatabaseWriter,
        transaction: Bool,
        _ body: @escaping @Sendable (Database) throws -> T
    ) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async {
                continuation.resume(with: Result { transaction ? try writer.read(body) : try writer.unsafeRead(body) })
            }
        }
    }
}
