import GRDB

/// What can go wrong in storage, in the domain's words. GRDB's `DatabaseError` is converted here, once;
/// PostgreSQL's errors in `StoreError+Postgres.swift`.
package enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A UNIQUE constraint refused the write; the associated value names the claimed field.
    case conflict(UniqueField)
    /// Another connection held the write lock past the busy timeout, or the database is read-only or full:
    /// the request may succeed later (a 503, not a 500).
    case unavailable(Unavailability)
    /// The file is not a usable microblog database.
    case notADatabase
    /// A stored value is not of the kind its column holds (text that is not UTF-8, a date that does not parse or
    /// is out of range, a blob where a number belongs): the row was changed behind the server's back. A server
    /// fault (a 500). `column` names the table and column, never the value.
    case undecodable(column: String, location: String)
    /// Anything else: a server fault. The description (and where storage raised it) is for the log only.
    case failure(String, location: String)

    /// The fields whose values are unique across users.
    package enum UniqueField: Sendable, Equatable {
        case username
        /// A username's ``LookAlikeKey``: another user's name looks like it.
        case lookAlike
        case email
        case other
    }

    /// Why the database cannot take the write now.
    package enum Unavailability: Sendable, Equatable {
        case busy
        case readOnly
        case full
        case moved
        /// The database server cannot be reached (PostgreSQL).
        case unreachable
        /// The database server did not answer within the query timeout (PostgreSQL).
        case timedOut
    }

    package var description: String {
        switch self {
        case .conflict(let field): "the \(field) is already taken"
        case .unavailable(.busy): "the database is locked by another connection (busy timeout passed)"
        case .unavailable(.readOnly): "the database is read-only or cannot be opened for writing"
        case .unavailable(.full): "the disk is full or the database file cannot be written"
        case .unavailable(.moved): "the database file was moved or deleted while the server runs"
        case .unavailable(.unreachable): "the database server cannot be reached"
        case .unavailable(.timedOut): "the database did not answer in time (a statement past its budget, or no answer)"
        case .notADatabase: "the file is not a microblog SQLite database (or is corrupt); refusing to use it"
        case .undecodable(let column, _): "a stored value of \(column) cannot be read (not of the column's kind)"
        case .failure(let detail, _): "database failure: \(detail)"
        }
    }

    /// Converts any error of a storage call into a `StoreError`.
    /// - Parameter location: the storage method that failed (`file:line`), kept for the log and the debug page.
    init(_ error: any Error, location: String = "") {
        if let error = error as? StoreError {
            self = error.located(at: location)
            return
        }
        if error is RowDecodingError {
            // GRDB's description of it quotes the row and the statement's arguments (a session key, a password
            // hash): only the fact goes to the log.
            self = .undecodable(column: "a column", location: location)
            return
        }
        guard let error = error as? DatabaseError else {
            self = .failure(String(describing: error), location: location)
            return
        }
        switch error.extendedResultCode {
        case .SQLITE_CONSTRAINT_UNIQUE, .SQLITE_CONSTRAINT_PRIMARYKEY:
            self = .conflict(UniqueField(naming: error.message ?? ""))
            return
        case .SQLITE_READONLY_DBMOVED:
            self = .unavailable(.moved)
            return
        default:
            break
        }
        switch error.resultCode {
        case .SQLITE_INTERRUPT:
            // A statement past its budget (SQLiteStatementDeadline).
            self = .unavailable(.timedOut)
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            self = .unavailable(.busy)
        case .SQLITE_READONLY, .SQLITE_CANTOPEN, .SQLITE_PERM:
            self = .unavailable(.readOnly)
        case .SQLITE_FULL, .SQLITE_IOERR:
            self = .unavailable(.full)
        case .SQLITE_NOTADB, .SQLITE_CORRUPT:
            self = .notADatabase
        default:
            self = .failure(error.description, location: location)
        }
    }
}

extension StoreError.UniqueField {
    /// The field a UNIQUE constraint protects, read from its name or from the engine's message that names it
    /// (`user.username_key` in SQLite's, `user_username_key_unique` as PostgreSQL's constraint name).
    init(naming text: String) {
        if text.contains("username_key") {
            self = .username
        } else if text.contains("look_alike_key") {
            self = .lookAlike
        } else if text.contains("email_key") {
            self = .email
        } else {
            self = .other
        }
    }
}

extension StoreError {
    /// This error, with `location` as where storage raised it when it does not say yet.
    func located(at location: String) -> StoreError {
        if case .undecodable(let column, "") = self { return .undecodable(column: column, location: location) }
        return self
    }
}

extension StoreError: LocatedError {
    /// Where storage raised a ``failure(_:location:)``; empty for the other cases, which are not faults.
    package var location: String {
        switch self {
        case .failure(_, let location), .undecodable(_, let location): location
        default: ""
        }
    }
}
