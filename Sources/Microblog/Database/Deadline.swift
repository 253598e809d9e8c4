import NIOConcurrencyHelpers

/// Waits for `operation` at most `timeout`, then throws `timeoutError` without waiting any longer.
///
/// Unlike a task group (which returns only once every child has ended), the caller gets its answer at the deadline
/// even when the operation does not respond to cancellation: a query on a connection to a host that vanished
/// from the network waits for TCP to give up. The operation is cancelled and finishes in the background; its
/// result is dropped. Cancelling the caller cancels the operation and throws `CancellationError`.
func withDeadline<T: Sendable>(
    _ timeout: Duration,
    throwing timeoutError: some Error,
    _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    let outcome = FirstOutcome<T>()
    let work = Task { outcome.finish(await Result { try await operation() }) }
    let timer = Task {
        try await Task.sleep(for: timeout)
        outcome.finish(.failure(timeoutError))
        work.cancel()
    }
    defer { timer.cancel() }
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { outcome.wait($0) }
    } onCancel: {
        work.cancel()
        outcome.finish(.failure(CancellationError()))
    }
}

/// The first of several results, handed to one waiting continuation exactly once.
private final class FirstOutcome<T: Sendable>: Sendable {
    private enum State {
        case idle
        case waiting(CheckedContinuation<T, any Error>)
        case finished(Result<T, any Error>)
        case delivered
    }

    private let state = NIOLockedValueBox(State.idle)

    func wait(_ continuation: CheckedContinuation<T, any Error>) {
        let result: Result<T, any Error>? = state.withLockedValue { state in
            switch state {
            case .idle:
                state = .waiting(continuation)
                return nil
            case .finished(let result):
                state = .delivered
                return result
            case .waiting, .delivered:
                // invariant: withDeadline is this type's only user and calls wait once per outcome.
                preconditionFailure("one waiter only")
            }
        }
        if let result { continuation.resume(with: result) }
    }

    func finish(_ result: Result<T, any Error>) {
        let continuation: CheckedContinuation<T, any Error>? = state.withLockedValue { state in
            switch state {
            case .idle:
                state = .finished(result)
                return nil
            case .waiting(let continuation):
                state = .delivered
                return continuation
            case .finished, .delivered:
                return nil
            }
        }
        continuation?.resume(with: result)
    }
}

extension Result where Failure == any Error {
    /// The outcome of an async throwing body.
    init(catching body: () async throws -> Success) async {
        do {
            self = .success(try await body())
        } catch {
            self = .failure(error)
        }
    }
}
