import Foundation
import GRDB

extension User {
    /// The user in the current row of a statement that selects the `user` table's columns by their names.
    init(_ row: SQLiteRowReader) throws(StoreError) {
        self.init(
            id: try row.int64("id"),
            username: try row.text("username"),
            usernameKey: try row.text("username_key"),
            lookAlikeKey: try row.optionalText("look_alike_key"),
            email: try row.text("email"),
            emailKey: try row.text("email_key"),
            passwordHash: try row.text("password_hash"),
            aboutMe: try row.optionalText("about_me"),
            lastSeen: try row.date("last_seen")
        )
    }
}

extension SQLiteStore {
    package func insertUser(_ new: NewUser, at now: Date) async throws(StoreError) -> User {
        try await write { db in
            if try User.filter(User.usernameKeyColumn == new.usernameKey.rawValue).isEmpty(db) == false {
                throw StoreError.conflict(.username)
            }
            if try User.filter(User.lookAlikeKeyColumn == new.lookAlikeKey.rawValue).isEmpty(db) == false {
                throw StoreError.conflict(.lookAlike)
            }
            if try User.filter(User.emailKeyColumn == new.emailKey.rawValue).isEmpty(db) == false {
                throw StoreError.conflict(.email)
            }
            var user = User(new, id: nil, lastSeen: now)
            try user.insert(db)
            return user
        }
    }

    package func updateProfile(userID: Int64, username: String, usernameKey: IdentityKey, lookAlikeKey: IdentityKey?, aboutMe: String?) async throws(StoreError) {
        try await write { db in
            let holder = try Int64.fetchOne(
                db,
                sql: "SELECT id FROM user WHERE username_key = ? AND id <> ?",
                arguments: [usernameKey.rawValue, userID]
            )
            if holder != nil { throw StoreError.conflict(.username) }
            if let lookAlikeKey {
                let lookAlike = try Int64.fetchOne(
                    db,
                    sql: "SELECT id FROM user WHERE look_alike_key = ? AND id <> ?",
                    arguments: [lookAlikeKey.rawValue, userID]
                )
                if lookAlike != nil { throw StoreError.conflict(.lookAlike) }
            }
            try db.execute(
                sql: """
                    UPDATE user SET username = ?, username_key = ?, look_alike_key = coalesce(?, look_alike_key), about_me = ?
                    WHERE id = ?
                    """,
                arguments: [username, usernameKey.rawValue, lookAlikeKey?.rawValue, aboutMe, userID]
            )
        }
    }

    package func assignLookAlikeKeys() async throws(StoreError) -> [LookAlikeName] {
        var kept: [LookAlikeName] = []
        var after: Int64 = 0
        let version = LookAlikeKey.dataVersion
        try await write { db in
            let stored = try SQLiteRowReader.first(db.cachedStatement(sql: "SELECT version FROM look_alike_source"), arguments: []) {
                row throws(StoreError) in try row.text("version")
            }
            if stored != version {
                try db.execute(sql: "UPDATE user SET look_alike_key = NULL")
                try db.execute(sql: "DELETE FROM look_alike_source")
                try db.execute(sql: "INSERT INTO look_alike_source (version) VALUES (?)", arguments: [version])
            }
        }
        while true {
            let from = after
            let batch = try await write { db -> LookAlikeBatch in
                var users: [LookAlikeBatch.User] = []
                try SQLiteRowReader.forEachRow(
                    db.cachedStatement(sql: "SELECT id, username FROM user WHERE look_alike_key IS NULL AND id > ? ORDER BY id LIMIT ?"),
                    arguments: [from, LookAlikeBatch.size]
                ) { row throws(StoreError) in
                    users.append(.init(id: try row.int64("id"), username: try row.text("username")))
                }
                var batch = LookAlikeBatch(users)
                for key in batch.keys {
                    let holder = try SQLiteRowReader.first(
                        db.cachedStatement(sql: "SELECT username FROM user WHERE look_alike_key = ?"), arguments: [key]
                    ) { row throws(StoreError) in try row.text("username") }
                    if let holder { batch.held[key] = holder }
                }
                let decision = batch.decide()
                for (id, key) in decision.assigned {
                    try db.execute(sql: "UPDATE user SET look_alike_key = ? WHERE id = ?", arguments: [key.rawValue, id])
                }
                batch.kept = decision.kept
                return batch
            }
            kept += batch.kept
            guard let last = batch.users.last?.id else { return kept }
            after = last
        }
    }

    /// Records that the user was seen at `date`.
    package func touchLastSeen(userID: Int64, at date: Date) async throws(StoreError) {
        try await write { db in
            try db.execute(sql: "UPDATE user SET last_seen = ? WHERE id = ?", arguments: [date, userID])
        }
    }

    /// The user with this id, if any.
    package func user(id: Int64) async throws(StoreError) -> User? {
        try await readOneStatement { db in
            try SQLiteRowReader.first(db.cachedStatement(sql: "SELECT * FROM user WHERE id = ?"), arguments: [id]) { row throws(StoreError) in try User(row) }
        }
    }

    /// The user whose username normalises to `key`, if any.
    package func user(usernameKey key: IdentityKey) async throws(StoreError) -> User? {
        try await readOneStatement { db in
            try SQLiteRowReader.first(
                db.cachedStatement(sql: "SELECT * FROM user WHERE username_key = ?"), arguments: [key.rawValue]
            ) { row throws(StoreError) in try User(row) }
        }
    }

    package func heldIdentityKeys(username: IdentityKey?, lookAlike: IdentityKey?, email: IdentityKey?, exceptUserID: Int64?) async throws(StoreError) -> HeldIdentityKeys {
        try await readOneStatement { db in
            let held = try SQLiteRowReader.first(
                db.cachedStatement(sql: """
                    SELECT EXISTS (SELECT 1 FROM user WHERE username_key = ? AND id IS NOT ?) AS username,
                           EXISTS (SELECT 1 FROM user WHERE look_alike_key = ? AND id IS NOT ?) AS look_alike,
                           EXISTS (SELECT 1 FROM user WHERE email_key = ? AND id IS NOT ?) AS email
                    """),
                arguments: [username?.rawValue, exceptUserID, lookAlike?.rawValue, exceptUserID, email?.rawValue, exceptUserID]
            ) { row throws(StoreError) in
                HeldIdentityKeys(username: try row.bool("username"), lookAlike: try row.bool("look_alike"), email: try row.bool("email"))
            }
            return held ?? HeldIdentityKeys(username: false, lookAlike: false, email: false)
        }
    }
}
