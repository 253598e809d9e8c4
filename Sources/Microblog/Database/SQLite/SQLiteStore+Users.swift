import Foundation
import GRDB

extension User {
    /// The user in the current row of a statement that selects the `user` table's columns by their names.
    init(_ row: SQLiteRowReader) throws(StoreError) {
        self.init(
            id: try row.int64("id"),
            username: try row.text("username"),
            usernameKey: try row.text("username_key"),
            email: try row.text("email"),
            emailKey: try row.text("email_key"),
            passwordHash: try row.text("password_hash"),
            aboutMe: try row.optionalText("about_me"),
            lastSeen: try row.date("last_seen")
        )
    }
}

extension SQLiteStore {
    /// Inserts a user, checking inside the transaction that neither key is held.
    /// - Throws: `.conflict(.username)` or `.conflict(.email)` when taken (by the check or by the UNIQUE index).
    public func insertUser(_ new: NewUser, at now: Date) async throws(StoreError) -> User {
        try await write { db in
            if try User.filter(User.usernameKeyColumn == new.usernameKey.rawValue).isEmpty(db) == false {
                throw StoreError.conflict(.username)
            }
            if try User.filter(User.emailKeyColumn == new.emailKey.rawValue).isEmpty(db) == false {
                throw StoreError.conflict(.email)
            }
            var user = User(new, id: nil, lastSeen: now)
            try user.insert(db)
            return user
        }
    }

    /// Changes a user's username (spelling or key) and about-me text, checking inside the transaction that no
    /// other user holds the new key.
    /// - Throws: `.conflict(.username)` when another user holds it.
    public func updateProfile(userID: Int64, username: String, usernameKey: IdentityKey, aboutMe: String?) async throws(StoreError) {
        try await write { db in
            let holder = try Int64.fetchOne(
                db,
                sql: "SELECT id FROM user WHERE username_key = ? AND id <> ?",
                arguments: [usernameKey.rawValue, userID]
            )
            if holder != nil { throw StoreError.conflict(.username) }
            try db.execute(
                sql: "UPDATE user SET username = ?, username_key = ?, about_me = ? WHERE id = ?",
                arguments: [username, usernameKey.rawValue, aboutMe, userID]
            )
        }
    }

    /// Records that the user was seen at `date`.
    public func touchLastSeen(userID: Int64, at date: Date) async throws(StoreError) {
        try await write { db in
            try db.execute(sql: "UPDATE user SET last_seen = ? WHERE id = ?", arguments: [date, userID])
        }
    }

    /// The user with this id, if any.
    public func user(id: Int64) async throws(StoreError) -> User? {
        try await readOneStatement { db in
            try SQLiteRowReader.first(db.cachedStatement(sql: "SELECT * FROM user WHERE id = ?"), arguments: [id]) { row throws(StoreError) in try User(row) }
        }
    }

    /// The user whose username normalises to `key`, if any.
    public func user(usernameKey key: IdentityKey) async throws(StoreError) -> User? {
        try await readOneStatement { db in
            try SQLiteRowReader.first(
                db.cachedStatement(sql: "SELECT * FROM user WHERE username_key = ?"), arguments: [key.rawValue]
            ) { row throws(StoreError) in try User(row) }
        }
    }

    public func heldIdentityKeys(username: IdentityKey?, email: IdentityKey?, exceptUserID: Int64?) async throws(StoreError) -> HeldIdentityKeys {
        try await readOneStatement { db in
            let held = try SQLiteRowReader.first(
                db.cachedStatement(sql: """
                    SELECT EXISTS (SELECT 1 FROM user WHERE username_key = ? AND id IS NOT ?) AS username,
                           EXISTS (SELECT 1 FROM user WHERE email_key = ? AND id IS NOT ?) AS email
                    """),
                arguments: [username?.rawValue, exceptUserID, email?.rawValue, exceptUserID]
            ) { row throws(StoreError) in
                HeldIdentityKeys(username: try row.bool("username"), email: try row.bool("email"))
            }
            return held ?? HeldIdentityKeys(username: false, email: false)
        }
    }
}
