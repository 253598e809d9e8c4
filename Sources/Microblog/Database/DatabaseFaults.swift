/// Faults a test injects inside write transactions, on either engine, to prove that a failing request leaves no
/// partial writes.
package struct DatabaseFaults: Sendable {
    /// Called inside `createPost(authorID:body:at:)` (both stores) after the post row is inserted and before the
    /// author's `last_seen` is updated; throwing aborts the whole transaction.
    package var betweenPostWrites: (@Sendable () throws -> Void)?

    package init(betweenPostWrites: (@Sendable () throws -> Void)? = nil) {
        self.betweenPostWrites = betweenPostWrites
    }

    /// No faults: production.
    package static var none: DatabaseFaults { DatabaseFaults() }
}
