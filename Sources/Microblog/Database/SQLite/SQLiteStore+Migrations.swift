import GRDB

extension SQLiteStore {
    /// The schema's history. Shipped migrations are never edited: a change is a new migration.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: users, posts, sessions, remember tokens") { db in
            try db.create(table: "user") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("username", .text).notNull()
                    .check(sql: "length(username) BETWEEN 1 AND 64")
                t.column("username_key", .text).notNull().unique()
                t.column("email", .text).notNull()
                    .check(sql: "length(email) BETWEEN 3 AND 120")
                t.column("email_key", .text).notNull().unique()
                t.column("password_hash", .text).notNull()
                t.column("about_me", .text)
                    .check(sql: "about_me IS NULL OR length(about_me) <= 140")
                t.column("last_seen", .datetime).notNull()
            }
            try db.create(table: "post") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("body", .text).notNull()
                    .check(sql: "length(body) BETWEEN 1 AND 140")
                t.column("timestamp", .datetime).notNull().indexed()
                t.column("user_id", .integer).notNull().references("user", onDelete: .cascade)
            }
            try db.create(index: "post_on_user_id_timestamp", on: "post", columns: ["user_id", "timestamp"])
            try db.create(table: "session") { t in
                t.primaryKey("key", .text)
                t.column("value", .blob).notNull()
                t.column("expires_at", .double).indexed()
            }
            try db.create(table: "remember_token") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("selector", .text).notNull().unique()
                t.column("validator_hash", .blob).notNull()
                t.column("user_id", .integer).notNull().references("user", onDelete: .cascade)
                t.column("expires_at", .double).notNull()
            }
        }
        migrator.registerMigration("v2: failed logins") { db in
            try db.create(table: "login_failure") { t in
                t.primaryKey("subject", .text).check(sql: "length(subject) <= 64")
                t.column("failures", .integer).notNull()
                t.column("first_failure", .double).notNull()
                t.column("blocked_until", .double)
                t.column("forget_at", .double).notNull().indexed()
            }
        }
        migrator.registerMigration("v3: remember-me rotation, sessions by user") { db in
            try db.alter(table: "remember_token") { t in
                t.add(column: "previous_hash", .blob)
                t.add(column: "rotated_at", .double)
            }
            try db.alter(table: "session") { t in
                t.add(column: "user_id", .integer).references("user", onDelete: .cascade)
            }
            // Sessions stored before: their user, where the value names one that exists.
            try db.execute(sql: """
                UPDATE session SET user_id = json_extract(CAST(value AS TEXT), '$.\(SessionState.userIDMember)')
                WHERE json_valid(CAST(value AS TEXT))
                  AND json_extract(CAST(value AS TEXT), '$.\(SessionState.userIDMember)') IN (SELECT id FROM user)
                """)
            try db.create(index: "session_on_user_id", on: "session", columns: ["user_id", "expires_at"])
        }
        migrator.registerMigration("v5: look-alike names") { db in
            // Filled by assignLookAlikeKeys (the keys come from ICU, in Swift); NULL for a name that looks like an
            // earlier user's, registered before this rule.
            try db.alter(table: "user") { t in
                t.add(column: "look_alike_key", .text)
            }
            try db.create(index: "user_on_look_alike_key", on: "user", columns: ["look_alike_key"], options: .unique)
            try db.create(table: "look_alike_source") { t in
                t.column("version", .text).notNull()
            }
        }
        return migrator
    }
}
