/// How long one statement may run before the engine stops it and the request gets a 503 page
/// (`DATABASE_READ_TIMEOUT`, `DATABASE_WRITE_TIMEOUT`; 1 s and 5 s): no request holds a reader, or the writer, for
/// longer. Waiting for a lock is not running (that is the busy timeout).
package struct StatementBudget: Sendable, Equatable {
    package var reads: Duration
    package var writes: Duration

    package init(reads: Duration = .seconds(1), writes: Duration = .seconds(5)) {
        self.reads = reads
        self.writes = writes
    }
}
