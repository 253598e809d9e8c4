import Foundation
import Logging
import PostgresNIO

extension PostgresStore {
    /// The columns of a ``User``, in the order ``decodeUser(_:)`` reads them.
    static let userColumns = #"id, username, username_key, look_alike_key, email, email_key, password_hash, about_me, last_seen"#

    /// The user in the row's first columns (``userColumns``), nil when they are NULL (an outer join found none).
    static func decodeUserIfPresent(_ row: PostgresRow) throws -> User? {
        try row.decode(Int64?.self) == nil ? nil : decodeUser(row)
    }

    static func decodeUser(_ row: PostgresRow) throws -> User {
        let (id, username, usernameKey, lookAlikeKey, email, emailKey, passwordHash, aboutMe, lastSeen) =
            try row.decode((Int64, String, String, String?, String, String, String, String?, Date).self)
        return User(
            id: id,
            username: username,
            usernameKey: usernameKey,
            lookAlikeKey: lookAlikeKey,
            email: email,
            emailKey: emailKey,
            passwordHash: passwordHash,
            aboutMe: aboutMe,
            lastSeen: try StoredValue.date(lastSeen, column: "last_seen")
        )
    }

    package func insertUser(_ new: NewUser, at now: Date) async throws(StoreError) -> User {
        let logger = logger
        return try await withTransaction { connection in
            let holders = try await connection.query(
                """
                SELECT (SELECT count(*) FROM "user" WHERE username_key = \(new.usernameKey.rawValue)),
                       (SELECT count(*) FROM "user" WHERE look_alike_key = \(new.lookAlikeKey.rawValue)),
                       (SELECT count(*) FROM "user" WHERE email_key = \(new.emailKey.rawValue))
                """,
                logger: logger
            ).collect()
            if let row = holders.first {
                let (byName, byLookAlike, byEmail) = try row.decode((Int64, Int64, Int64).self)
                if byName > 0 { throw StoreError.conflict(.username) }
                if byLookAlike > 0 { throw StoreError.conflict(.lookAlike) }
                if byEmail > 0 { throw StoreError.conflict(.email) }
            }
            let rows = try await connection.query(
                """
                INSERT INTO "user" (username, username_key, look_alike_key, email, email_key, password_hash, about_me, last_seen)
                VALUES (\(new.username), \(new.usernameKey.rawValue), \(new.lookAlikeKey.rawValue), \(new.email),
                        \(new.emailKey.rawValue), \(new.passwordHash), NULL, \(now))
                RETURNING id
                """,
                logger: logger
            ).collect()
            guard let id = try rows.first?.decode(Int64.self) else { throw StoreError.failure("INSERT returned no id", location: "") }
            return User(new, id: id, lastSeen: now)
        }
    }

    package func updateProfile(userID: Int64, username: String, usernameKey: IdentityKey, lookAlikeKey: IdentityKey?, aboutMe: String?) async throws(StoreError) {
        let logger = logger
        try await withTransaction { connection in
            let holders = try await connection.query(
                #"SELECT id FROM "user" WHERE username_key = \#(usernameKey.rawValue) AND id <> \#(userID)"#,
                logger: logger
            ).collect()
            if !holders.isEmpty { throw StoreError.conflict(.username) }
            if let lookAlikeKey {
                let lookAlikes = try await connection.query(
                    #"SELECT id FROM "user" WHERE look_alike_key = \#(lookAlikeKey.rawValue) AND id <> \#(userID)"#,
                    logger: logger
                ).collect()
                if !lookAlikes.isEmpty { throw StoreError.conflict(.lookAlike) }
            }
            try await connection.query(
                #"""
                UPDATE "user" SET username = \#(username), username_key = \#(usernameKey.rawValue),
                    look_alike_key = coalesce(\#(lookAlikeKey?.rawValue), look_alike_key), about_me = \#(aboutMe)
                WHERE id = \#(userID)
                """#,
                logger: logger
            )
        }
    }

    package func assignLookAlikeKeys() async throws(StoreError) -> [LookAlikeName] {
        let logger = logger
        return try await withConnection { connection in try await Self.assignLookAlikeKeys(on: connection, logger: logger) }
    }

    /// ``assignLookAlikeKeys()`` on one connection, a transaction per batch: the migration's own connection at start
    /// (before the pool runs), or one of the pool's.
    static func assignLookAlikeKeys(on connection: PostgresConnection, logger: Logger) async throws -> [LookAlikeName] {
        let version = LookAlikeKey.dataVersion
        try await connection.withTransaction(logger: logger) { connection in
            // Instances that start together assign one after the other (the migrations' lock).
            try await connection.query("SELECT pg_advisory_xact_lock(\(migrationLock))", logger: logger)
            var stored: String?
            for try await text in try await connection.query("SELECT version FROM look_alike_source", logger: logger).decode(String.self) {
                stored = text
            }
            if stored != version {
                try await connection.query(#"UPDATE "user" SET look_alike_key = NULL"#, logger: logger)
                try await connection.query("DELETE FROM look_alike_source", logger: logger)
                try await connection.query("INSERT INTO look_alike_source (version) VALUES (\(version))", logger: logger)
            }
        }
        var kept: [LookAlikeName] = []
        var after: Int64 = 0
        while true {
            let from = after
            let batch = try await connection.withTransaction(logger: logger) { connection -> LookAlikeBatch in
                try await connection.query("SELECT pg_advisory_xact_lock(\(migrationLock))", logger: logger)
                var users: [LookAlikeBatch.User] = []
                for try await (id, username) in try await connection.query(
                    #"SELECT id, username FROM "user" WHERE look_alike_key IS NULL AND id > \#(from) ORDER BY id LIMIT \#(LookAlikeBatch.size)"#,
                    logger: logger
                ).decode((Int64, String).self) {
                    users.append(.init(id: id, username: username))
                }
                var batch = LookAlikeBatch(users)
                let keys = Array(batch.keys)
                for try await (key, holder) in try await connection.query(
                    #"SELECT look_alike_key, username FROM "user" WHERE look_alike_key = ANY(\#(keys))"#,
                    logger: logger
                ).decode((String, String).self) {
                    batch.held[key] = holder
                }
                let decision = batch.decide()
                if !decision.assigned.isEmpty {
                    let ids = decision.assigned.map(\.id)
                    let newKeys = decision.assigned.map(\.key.rawValue)
                    try await connection.query(
                        #"""
                        UPDATE "user" SET look_alike_key = assigned.key
                        FROM unnest(\#(ids)::bigint[], \#(newKeys)::text[]) AS assigned(id, key)
                        WHERE "user".id = assigned.id
                        """#,
                        logger: logger
                    )
                }
                batch.kept = decision.kept
                return batch
            }
            kept += batch.kept
            guard let last = batch.users.last?.id else { return kept }
            after = last
        }
    }

    package func touchLastSeen(userID: Int64, at date: Date) async throws(StoreError) {
        let logger = logger
        try await withConnection { connection in
            _ = try await connection.query(#"UPDATE "user" SET last_seen = \#(date) WHERE id = \#(userID)"#, logger: logger)
        }
    }

    package func user(id: Int64) async throws(StoreError) -> User? {
        let logger = logger
        return try await withConnection { connection in
            let rows = try await connection.query(
                #"SELECT \#(unescaped: Self.userColumns) FROM "user" WHERE id = \#(id)"#,
                logger: logger
            ).collect()
            return try rows.first.map(Self.decodeUser)
        }
    }

    package func user(usernameKey key: IdentityKey) async throws(StoreError) -> User? {
        let logger = logger
        return try await withConnection { connection in
            let rows = try await connection.query(
                #"SELECT \#(unescaped: Self.userColumns) FROM "user" WHERE username_key = \#(key.rawValue)"#,
                logger: logger
            ).collect()
            return try rows.first.map(Self.decodeUser)
        }
    }

    package func heldIdentityKeys(username: IdentityKey?, lookAlike: IdentityKey?, email: IdentityKey?, exceptUserID: Int64?) async throws(StoreError) -> HeldIdentityKeys {
        let logger = logger
        return try await withConnection { connection in
            let rows = try await connection.query(
                #"""
                SELECT EXISTS (SELECT 1 FROM "user" WHERE username_key = \#(username?.rawValue) AND id IS DISTINCT FROM \#(exceptUserID)),
                       EXISTS (SELECT 1 FROM "user" WHERE look_alike_key = \#(lookAlike?.rawValue) AND id IS DISTINCT FROM \#(exceptUserID)),
                       EXISTS (SELECT 1 FROM "user" WHERE email_key = \#(email?.rawValue) AND id IS DISTINCT FROM \#(exceptUserID))
                """#,
                logger: logger
            ).collect()
            guard let row = rows.first else { return HeldIdentityKeys(username: false, lookAlike: false, email: false) }
            let (username, lookAlike, email) = try row.decode((Bool, Bool, Bool).self)
            return HeldIdentityKeys(username: username, lookAlike: lookAlike, email: email)
        }
    }
}
