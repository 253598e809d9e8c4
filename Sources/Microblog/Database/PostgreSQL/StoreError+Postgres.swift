import NIOCore
import PostgresNIO
import _ConnectionPoolModule

extension StoreError {
    /// Converts an error of a PostgreSQL storage call into a `StoreError`, as GRDB's are converted for SQLite:
    /// a unique violation (`23505`) names the field by its constraint, a server that cannot be reached, is
    /// shutting down, or does not answer in time is `.unavailable(.unreachable)` (a 503), lock and serialisation
    /// failures are `.unavailable(.busy)`.
    /// - Parameter location: the storage method that failed (`file:line`), kept for the log and the debug page.
    init(postgres error: any Error, location: String) {
        switch error {
        case let error as StoreError:
            self = error.located(at: location)
        case let error as PostgresDecodingError:
            // Its description is generic on purpose; the column it names is what the operator needs.
            self = .undecodable(column: error.columnName, location: location)
        case let error as PostgresTransactionError:
            let cause = error.closureError ?? error.beginError ?? error.commitError ?? error.rollbackError
            self = cause.map { StoreError(postgres: $0, location: location) }
                ?? .failure("PostgreSQL transaction failed", location: location)
        case let error as PSQLError:
            self = StoreError(psql: error, location: location)
        case is ConnectionPoolError, is IOError, is ChannelError, is NIOConnectionError:
            self = .unavailable(.unreachable)
        default:
            self = .failure(String(describing: error), location: location)
        }
    }

    private init(psql error: PSQLError, location: String) {
        guard error.code == .server, let state = error.serverInfo?[.sqlState] else {
            switch error.code {
            case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed,
                 .sslUnsupported, .failedToAddSSLHandler:
                self = .unavailable(.unreachable)
            default:
                self = .failure("PostgreSQL client error: \(error.code)", location: location)
            }
            return
        }
        switch state {
        case "23505":  // unique_violation
            self = .conflict(UniqueField(naming: error.serverInfo?[.constraintName] ?? ""))
        case "40001", "40P01", "55P03", "53300":
            // serialization_failure, deadlock_detected, lock_not_available, too_many_connections: load, not a fault.
            self = .unavailable(.busy)
        case "57014":  // query_canceled: a statement past its budget (statement_timeout)
            self = .unavailable(.timedOut)
        case "25006":  // read_only_sql_transaction (a hot standby)
            self = .unavailable(.readOnly)
        case "53100":  // disk_full
            self = .unavailable(.full)
        case _ where state.hasPrefix("08") || state.hasPrefix("57P"):
            // connection_exception, admin_shutdown, crash_shutdown, cannot_connect_now
            self = .unavailable(.unreachable)
        default:
            let message = error.serverInfo?[.message] ?? ""
            self = .failure("PostgreSQL \(state): \(message)", location: location)
        }
    }
}
