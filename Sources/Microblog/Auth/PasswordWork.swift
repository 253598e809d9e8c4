import HTTPTypes
import Hummingbird
import NIOConcurrencyHelpers

/// Admission to the password work (bcrypt on NIO's thread pool), bounded per kind so that neither kind can queue
/// without end nor starve the other: a login waits behind at most ``Budget/registrations`` registrations and
/// ``Budget/logins`` logins, whatever floods the site. Work past its kind's budget is shed at once: the request gets
/// a 503 page with `Retry-After` instead of a place in a queue.
///
/// The budget is decided in one atomic step (a count under a lock, taken before the work and given back after it),
/// like the registry's reservations.
package final class PasswordWork: Sendable {
    /// The two kinds of password work.
    package enum Kind: String, Sendable, CaseIterable {
        case login
        case registration
    }

    /// How many of each kind may be running or waiting at once.
    package struct Budget: Sendable, Equatable {
        package var logins: Int
        package var registrations: Int

        package init(logins: Int, registrations: Int) {
            self.logins = logins
            self.registrations = registrations
        }

        /// Enough logins to keep every thread of the pool busy several times over; few registrations, which a
        /// person makes once.
        package static func `default`(threads: Int) -> Budget {
            Budget(logins: 4 * threads, registrations: threads)
        }
    }

    let budget: Budget
    private let inFlight = NIOLockedValueBox<[Kind: Int]>([:])

    init(budget: Budget) {
        self.budget = budget
    }

    /// Takes a place for `kind`, or answers false when its budget is full.
    func reserve(_ kind: Kind) -> Bool {
        let bound = kind == .login ? budget.logins : budget.registrations
        return inFlight.withLockedValue { counts in
            guard counts[kind, default: 0] < bound else { return false }
            counts[kind, default: 0] += 1
            return true
        }
    }

    /// Gives back a place taken by ``reserve(_:)``.
    func release(_ kind: Kind) {
        inFlight.withLockedValue { $0[kind, default: 0] = max(0, $0[kind, default: 0] - 1) }
    }

    /// The places of `kind` taken now.
    func inFlight(_ kind: Kind) -> Int {
        inFlight.withLockedValue { $0[kind, default: 0] }
    }
}

/// Password work shed because its kind's budget was full: a 503 page with `Retry-After`.
struct PasswordWorkShed: HTTPResponseError {
    var status: HTTPResponse.Status { .serviceUnavailable }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        Response(status: status, headers: [.retryAfter: "1"])
    }
}
