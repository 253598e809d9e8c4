import Foundation
import PostgresNIO

extension PostgresStore {
    /// The columns of a ``User``, in the order ``decodeUser(_:)`` reads them.
    static let userColumns = #"id, username, username_key, email, email_key, password_hash, about_me, last_seen"#

    /// The user in the row's first columns (``userColumns``), nil when they are NULL (an outer join found none).
    static func decodeUserIfPresent(_ row: PostgresRow) throws -> User? {
        try row.decode(Int64?.self) == nil ? nil : decodeUser(row)
    }

    static func decodeUser(_ row: PostgresRow) throws -> User {
        let (id, username, usernameKey, email, emailKey, passwordHash, aboutMe, lastSeen) =
            try row.decode((Int64, String, String, String, String, String, String?, Date).self)
        return User(
            id: id,
            username: username,
            usernameKey: usernameKey,
            email: email,
            emailKey: emailKey,
            passwordHash: passwordHash,
            aboutMe: aboutMe,
            lastSeen: try StoredValue.date(lastSeen, column: "last_seen")
        )
    }

    public func insertUser(_ new: NewUser, at now: Date) async throws(StoreError) -> User {
        let logger = logger
        return try await withTransaction { connection in
            let holders = try await connection.query(
                """
                SELECT (SELECT count(*) FROM "user" WHERE username_key = \(new.usernameKey.rawValue)),
                       (SELECT count(*) FROM "user" WHERE email_key = \(new.emailKey.rawValue))
                """,
                logger: logger
            ).collect()
            if let row = holders.first {
                let (byName, byEmail) = try row.decode((Int64, Int64).self)
                if byName > 0 { throw StoreError.conflict(.username) }
                if byEmail > 0 { throw StoreError.conflict(.email) }
            }
            let rows = try await connection.query(
                """
                INSERT INTO "user" (username, username_key, email, email_key, password_hash, about_me, last_seen)
                VALUES (\(new.username), \(new.usernameKey.rawValue), \(new.email), \(new.emailKey.rawValue),
                        \(new.passwordHash), NULL, \(now))
                RETURNING id
                """,
                logger: logger
            ).collect()
            guard let id = try rows.first?.decode(Int64.self) else { throw StoreError.failure("INSERT returned no id", location: "") }
            return User(new, id: id, lastSeen: now)
        }
    }

    public func updateProfile(userID: Int64, username: String, usernameKey: IdentityKey, aboutMe: String?) async throws(StoreError) {
        let logger = logger
        try await withTransaction { connection in
            let holders = try await connection.query(
                #"SELECT id FROM "user" WHERE username_key = \#(usernameKey.rawValue) AND id <> \#(userID)"#,
                logger: logger
            ).collect()
            if !holders.isEmpty { throw StoreError.conflict(.username) }
            try await connection.query(
                #"""
                UPDATE "user" SET username = \#(username), username_key = \#(usernameKey.rawValue), about_me = \#(aboutMe)
                WHERE id = \#(userID)
                """#,
                logger: logger
            )
        }
    }

    public func touchLastSeen(userID: Int64, at date: Date) async throws(StoreError) {
        let logger = logger
        try await withConnection { connection in
            _ = try await connection.query(#"UPDATE "user" SET last_seen = \#(date) WHERE id = \#(userID)"#, logger: logger)
        }
    }

    public func user(id: Int64) async throws(StoreError) -> User? {
        let logger = logger
        return try await withConnection { connection in
            let rows = try await connection.query(
                #"SELECT \#(unescaped: Self.userColumns) FROM "user" WHERE id = \#(id)"#,
                logger: logger
            ).collect()
            return try rows.first.map(Self.decodeUser)
        }
    }

    public func user(usernameKey key: IdentityKey) async throws(StoreError) -> User? {
        let logger = logger
        return try await withConnection { connection in
            let rows = try await connection.query(
                #"SELECT \#(unescaped: Self.userColumns) FROM "user" WHERE username_key = \#(key.rawValue)"#,
                logger: logger
            ).collect()
            return try rows.first.map(Self.decodeUser)
        }
    }

    public func heldIdentityKeys(username: IdentityKey?, email: IdentityKey?, exceptUserID: Int64?) async throws(StoreError) -> HeldIdentityKeys {
        let logger = logger
        return try await withConnection { connection in
            let rows = try await connection.query(
                #"""
                SELECT EXISTS (SELECT 1 FROM "user" WHERE username_key = \#(username?.rawValue) AND id IS DISTINCT FROM \#(exceptUserID)),
                       EXISTS (SELECT 1 FROM "user" WHERE email_key = \#(email?.rawValue) AND id IS DISTINCT FROM \#(exceptUserID))
                """#,
                logger: logger
            ).collect()
            guard let row = rows.first else { return HeldIdentityKeys(username: false, email: false) }
            let (username, email) = try row.decode((Bool, Bool).self)
            return HeldIdentityKeys(username: username, email: email)
        }
    }
}
