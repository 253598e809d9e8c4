import Dispatch
import GRDB
import GRDBSQLite
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Stops an SQLite statement that runs past its budget. Every connection gets a progress handler, which SQLite calls
/// every 1,000 virtual-machine instructions; it compares the monotonic clock with the deadline of the storage call
/// running on that thread (a thread-local value ``run(within:_:)`` sets around the call's statements), and a non-zero
/// answer ends the statement with `SQLITE_INTERRUPT` (``StoreError/Unavailability/timedOut``). Nothing is allocated
/// per call, and a thread with no deadline set is never interrupted.
enum SQLiteStatementDeadline {
    /// The thread-local deadline: `DispatchTime.uptimeNanoseconds` stored as a pointer's bit pattern; nil: none.
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        // invariant: pthread_key_create fails only when the process has used up its keys (PTHREAD_KEYS_MAX), at start.
        precondition(pthread_key_create(&key, nil) == 0, "no thread-local key left for the statement deadline")
        return key
    }()

    /// Installs the progress handler on a new connection (GRDB's `prepareDatabase`).
    static func install(on db: Database) {
        sqlite3_progress_handler(db.sqliteConnection, 1_000, { _ in
            guard let stored = pthread_getspecific(SQLiteStatementDeadline.key) else { return 0 }
            return DispatchTime.now().uptimeNanoseconds >= UInt64(UInt(bitPattern: stored)) ? 1 : 0
        }, nil)
    }

    /// Runs `body` (a storage call's statements, on the thread that runs them) with a deadline `budget` from now.
    static func run<T>(within budget: Duration, _ body: () throws -> T) rethrows -> T {
        let deadline = DispatchTime.now().uptimeNanoseconds &+ UInt64(max(0, budget.wholeMilliseconds)) &* 1_000_000
        pthread_setspecific(key, UnsafeRawPointer(bitPattern: UInt(deadline)))
        defer { pthread_setspecific(key, nil) }
        return try body()
    }
}
