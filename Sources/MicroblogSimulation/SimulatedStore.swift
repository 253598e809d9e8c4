import Foundation
import Microblog
import Synchronization

/// One simulated server's connection to a ``SimulatedDatabase``: the ``Store`` contract of the real stores, with a
/// suspension point (where the schedule may run anything else) before each call reaches the database, inside its
/// transaction where the engine lets other transactions in, and before its answer comes back; and faults drawn from
/// the run's seed, the way FoundationDB's BUGGIFY does: a busy or unreachable database, a slow call, a UNIQUE index
/// that speaks before the transaction's own check.
package struct SimulatedStore: Store {
    package let database: SimulatedDatabase
    /// Which server this connection belongs to (claims in a write are told apart by it).
    package let server: Int
    let context: SimulationContext

    /// One in how many calls fails as unavailable, is slow, or has its check skipped (0: never).
    package var faultRate: Int
    /// Whether an answer's way back is a suspension point of its own (false: fewer steps, for exhaustive search).
    package var suspendsOnReturn = true

    package init(database: SimulatedDatabase, server: Int, context: SimulationContext, faultRate: Int = 25) {
        self.database = database
        self.server = server
        self.context = context
        self.faultRate = faultRate
    }

    private var now: Date { context.date() }

    /// The call travelling to the database: a suspension point, maybe a slow one, maybe refused.
    private func arrive(_ call: String) async throws(StoreError) {
        await context.step("server \(server): \(call)")
        if context.fault("server \(server): \(call) is slow", oneIn: faultRate) {
            for _ in 0..<3 { await context.step("server \(server): \(call) waits") }
        }
        if context.fault("server \(server): \(call) finds the database busy", oneIn: faultRate) {
            throw .unavailable(database.engine == .sqlite ? .busy : .unreachable)
        }
    }

    /// The answer travelling back.
    private func depart(_ call: String) async {
        guard suspendsOnReturn else { return }
        await context.step("server \(server): \(call) returns")
    }

    /// Runs a write transaction as the engine does: under SQLite's one write lock, or (PostgreSQL) with no lock.
    private func transaction<T>(_ call: String, _ body: () async throws(StoreError) -> T) async throws(StoreError) -> T {
        try await arrive(call)
        if database.engine == .sqlite { await database.writeLock.lock() }
        let result: Result<T, StoreError>
        do throws(StoreError) {
            result = .success(try await body())
        } catch {
            result = .failure(error)
        }
        if database.engine == .sqlite { database.writeLock.unlock() }
        await depart(call)
        return try result.get()
    }

    /// Notes the claims of a write on this server; two of one key at once break the registry's promise.
    private func enterWrite(_ claims: [(String, IdentityKey)]) {
        database.tables.withLock { tables in
            for (field, key) in claims {
                let claim = SimulatedDatabase.ClaimInWrite(server: server, field: field, key: key)
                tables.claimsInWrite[claim, default: 0] += 1
                if tables.claimsInWrite[claim] == 2 {
                    context.violation("two claims of the \(field) \"\(key)\" on server \(server) reached the database at once")
                }
            }
        }
    }

    private func leaveWrite(_ claims: [(String, IdentityKey)]) {
        database.tables.withLock { tables in
            for (field, key) in claims {
                tables.claimsInWrite[SimulatedDatabase.ClaimInWrite(server: server, field: field, key: key), default: 1] -= 1
            }
        }
    }

    package func checkHealth() async throws(StoreError) {
        try await arrive("checkHealth")
        await depart("checkHealth")
    }

    // MARK: Users

    package func insertUser(_ new: NewUser, at now: Date) async throws(StoreError) -> User {
        let claims = [("username", new.usernameKey), ("look-alike key", new.lookAlikeKey), ("e-mail", new.emailKey)]
        enterWrite(claims)
        defer { leaveWrite(claims) }
        return try await transaction("insert \(new.username)") { () throws(StoreError) -> User in
            if !context.fault("server \(server): insert \(new.username) skips its check", oneIn: faultRate) {
                let held = heldKeys(username: new.usernameKey, lookAlike: new.lookAlikeKey, email: new.emailKey, except: nil)
                if held.username { throw .conflict(.username) }
                if held.lookAlike { throw .conflict(.lookAlike) }
                if held.email { throw .conflict(.email) }
            }
            if database.engine == .postgres { await context.step("server \(server): insert \(new.username) checked") }
            return try database.tables.withLock { tables throws(StoreError) -> User in
                try uniqueIndexes(tables, username: new.usernameKey, lookAlike: new.lookAlikeKey, email: new.emailKey, except: nil)
                let row = SimulatedDatabase.Row(
                    id: tables.nextUserID,
                    username: new.username,
                    usernameKey: new.usernameKey,
                    lookAlikeKey: new.lookAlikeKey,
                    email: new.email,
                    emailKey: new.emailKey,
                    aboutMe: nil,
                    lastSeen: now
                )
                tables.nextUserID += 1
                tables.users.append(row)
                context.note("server \(server): \(new.username) committed as user \(row.id)")
                return User(new, id: row.id, lastSeen: now)
            }
        }
    }

    package func updateProfile(userID: Int64, username: String, usernameKey: IdentityKey, lookAlikeKey: IdentityKey?, aboutMe: String?) async throws(StoreError) {
        // A key the user already holds is kept, not claimed.
        let current = database.tables.withLock { $0.users.first { $0.id == userID } }
        var claims: [(String, IdentityKey)] = []
        if current?.usernameKey != usernameKey { claims.append(("username", usernameKey)) }
        if let lookAlikeKey, current?.lookAlikeKey != lookAlikeKey { claims.append(("look-alike key", lookAlikeKey)) }
        enterWrite(claims)
        defer { leaveWrite(claims) }
        try await transaction("rename user \(userID) to \(username)") { () throws(StoreError) in
            if !context.fault("server \(server): rename to \(username) skips its check", oneIn: faultRate) {
                let held = heldKeys(username: usernameKey, lookAlike: lookAlikeKey, email: nil, except: userID)
                if held.username { throw .conflict(.username) }
                if held.lookAlike { throw .conflict(.lookAlike) }
            }
            if database.engine == .postgres { await context.step("server \(server): rename to \(username) checked") }
            try database.tables.withLock { tables throws(StoreError) in
                try uniqueIndexes(tables, username: usernameKey, lookAlike: lookAlikeKey, email: nil, except: userID)
                guard let index = tables.users.firstIndex(where: { $0.id == userID }) else { return }
                tables.users[index].username = username
                tables.users[index].usernameKey = usernameKey
                if let lookAlikeKey { tables.users[index].lookAlikeKey = lookAlikeKey }
                tables.users[index].aboutMe = aboutMe
                context.note("server \(server): user \(userID) renamed to \(username), committed")
            }
        }
    }

    /// The UNIQUE indexes, at the moment of the write; which one speaks first when several would is drawn from the
    /// run's faults (PostgreSQL checks them in its own order).
    private func uniqueIndexes(
        _ tables: SimulatedDatabase.Tables, username: IdentityKey, lookAlike: IdentityKey?, email: IdentityKey?, except: Int64?
    ) throws(StoreError) {
        let others = tables.users.filter { $0.id != except }
        var refusals: [StoreError.UniqueField] = []
        if others.contains(where: { $0.usernameKey == username }) { refusals.append(.username) }
        if let lookAlike, others.contains(where: { $0.lookAlikeKey == lookAlike }) { refusals.append(.lookAlike) }
        if let email, others.contains(where: { $0.emailKey == email }) { refusals.append(.email) }
        guard let first = refusals.first else { return }
        if refusals.count > 1, context.fault("an index other than the first refuses", oneIn: 2), let last = refusals.last {
            throw .conflict(last)
        }
        throw .conflict(first)
    }

    private func heldKeys(username: IdentityKey?, lookAlike: IdentityKey?, email: IdentityKey?, except: Int64?) -> HeldIdentityKeys {
        database.tables.withLock { tables in
            let others = tables.users.filter { $0.id != except }
            return HeldIdentityKeys(
                username: username.map { key in others.contains { $0.usernameKey == key } } ?? false,
                lookAlike: lookAlike.map { key in others.contains { $0.lookAlikeKey == key } } ?? false,
                email: email.map { key in others.contains { $0.emailKey == key } } ?? false
            )
        }
    }

    package func assignLookAlikeKeys() async throws(StoreError) -> [LookAlikeName] {
        try await transaction("assignLookAlikeKeys") { () throws(StoreError) -> [LookAlikeName] in
            database.tables.withLock { tables in
                var kept: [LookAlikeName] = []
                for index in tables.users.indices where tables.users[index].lookAlikeKey == nil {
                    let key = LookAlikeKey.of(tables.users[index].username)
                    if let holder = tables.users.first(where: { $0.lookAlikeKey == key }) {
                        kept.append(LookAlikeName(username: tables.users[index].username, looksLike: holder.username))
                    } else {
                        tables.users[index].lookAlikeKey = key
                    }
                }
                return kept
            }
        }
    }

    package func touchLastSeen(userID: Int64, at date: Date) async throws(StoreError) {
        try await transaction("touchLastSeen \(userID)") { () throws(StoreError) in
            database.tables.withLock { tables in
                if let index = tables.users.firstIndex(where: { $0.id == userID }) { tables.users[index].lastSeen = date }
            }
        }
    }

    package func user(id: Int64) async throws(StoreError) -> User? {
        try await arrive("user \(id)")
        let row = database.tables.withLock { $0.users.first { $0.id == id } }
        await depart("user \(id)")
        return row.map(Self.user)
    }

    package func user(usernameKey key: IdentityKey) async throws(StoreError) -> User? {
        try await arrive("user \(key)")
        let row = database.tables.withLock { $0.users.first { $0.usernameKey == key } }
        await depart("user \(key)")
        return row.map(Self.user)
    }

    package func heldIdentityKeys(username: IdentityKey?, lookAlike: IdentityKey?, email: IdentityKey?, exceptUserID: Int64?) async throws(StoreError) -> HeldIdentityKeys {
        try await arrive("heldIdentityKeys")
        let held = heldKeys(username: username, lookAlike: lookAlike, email: email, except: exceptUserID)
        await depart("heldIdentityKeys")
        return held
    }

    static func user(_ row: SimulatedDatabase.Row) -> User {
        User(
            id: row.id,
            username: row.username,
            usernameKey: row.usernameKey.rawValue,
            lookAlikeKey: row.lookAlikeKey?.rawValue,
            email: row.email,
            emailKey: row.emailKey.rawValue,
            passwordHash: "",
            aboutMe: row.aboutMe,
            lastSeen: row.lastSeen
        )
    }

    // MARK: Posts

    package func createPost(authorID: Int64, body: String, at now: Date) async throws(StoreError) {
        try await transaction("createPost") { () throws(StoreError) in
            database.tables.withLock { tables in
                tables.posts.append((id: Int64(tables.posts.count + 1), authorID: authorID, body: body, at: now))
                if let index = tables.users.firstIndex(where: { $0.id == authorID }) { tables.users[index].lastSeen = now }
            }
        }
    }

    package func posts(byAuthor authorID: Int64?, at position: PagePosition, perPage: Int) async throws(StoreError) -> Page<PostWithAuthor>? {
        try await arrive("posts")
        let page = database.tables.withLock { tables in Self.page(tables, byAuthor: authorID, at: position, perPage: perPage) }
        await depart("posts")
        return page
    }

    package func userPage(usernameKey key: IdentityKey, at position: PagePosition, perPage: Int) async throws(StoreError) -> (user: User, posts: Page<PostWithAuthor>?)? {
        try await arrive("userPage")
        let found = database.tables.withLock { tables -> (User, Page<PostWithAuthor>?)? in
            guard let row = tables.users.first(where: { $0.usernameKey == key }) else { return nil }
            return (Self.user(row), Self.page(tables, byAuthor: row.id, at: position, perPage: perPage))
        }
        await depart("userPage")
        return found.map { (user: $0.0, posts: $0.1) }
    }

    package func postID(byAuthor authorID: Int64?, offset: Int) async throws(StoreError) -> Int64? {
        try await arrive("postID")
        let id = database.tables.withLock { tables -> Int64? in
            let posts = Self.newestFirst(tables, byAuthor: authorID)
            return offset < posts.count && offset >= 0 ? posts[offset].id : nil
        }
        await depart("postID")
        return id
    }

    private static func newestFirst(_ tables: SimulatedDatabase.Tables, byAuthor authorID: Int64?) -> [(id: Int64, authorID: Int64, body: String, at: Date)] {
        tables.posts.filter { authorID == nil || $0.authorID == authorID }.sorted { ($0.at, $0.id) > ($1.at, $1.id) }
    }

    private static func page(_ tables: SimulatedDatabase.Tables, byAuthor authorID: Int64?, at position: PagePosition, perPage: Int) -> Page<PostWithAuthor>? {
        let posts = newestFirst(tables, byAuthor: authorID)
        func item(_ post: (id: Int64, authorID: Int64, body: String, at: Date)) -> PostWithAuthor {
            let author = tables.users.first { $0.id == post.authorID }
            return PostWithAuthor(id: post.id, body: post.body, authorName: author?.username ?? "", authorEmail: author?.email ?? "")
        }
        switch position {
        case .newest:
            return Page(fetched: posts.prefix(perPage + 1).map(item), at: position, perPage: perPage)
        case .olderThan(let id):
            guard let anchor = posts.firstIndex(where: { $0.id == id }) else { return nil }
            return Page(fetched: posts[(anchor + 1)...].prefix(perPage + 1).map(item), at: position, perPage: perPage)
        case .newerThan(let id):
            guard let anchor = posts.firstIndex(where: { $0.id == id }) else { return nil }
            return Page(fetched: posts[..<anchor].reversed().prefix(perPage + 1).map(item), at: position, perPage: perPage)
        }
    }

    // MARK: Remember-me tokens

    package func insertRememberToken(selector: String, validatorHash: Data, userID: Int64, expiresAt: Date) async throws(StoreError) {
        try await transaction("insertRememberToken") { () throws(StoreError) in
            try database.tables.withLock { tables throws(StoreError) in
                guard tables.tokens[selector] == nil else { throw .conflict(.other) }
                tables.tokens[selector] = (RememberToken(validatorHash: validatorHash, userID: userID), expiresAt)
            }
        }
    }

    package func rememberToken(selector: String, now: Date) async throws(StoreError) -> RememberToken? {
        try await arrive("rememberToken")
        let token = database.tables.withLock { tables in tables.tokens[selector].flatMap { $0.expiresAt > now ? $0.token : nil } }
        await depart("rememberToken")
        return token
    }

    package func rotateRememberToken(selector: String, from current: Data, to next: Data, at now: Date) async throws(StoreError) -> Bool {
        try await transaction("rotateRememberToken") { () throws(StoreError) -> Bool in
            database.tables.withLock { tables in
                guard var stored = tables.tokens[selector], stored.token.validatorHash == current else { return false }
                stored.token.previousHash = current
                stored.token.validatorHash = next
                stored.token.rotatedAt = now
                tables.tokens[selector] = stored
                return true
            }
        }
    }

    package func deleteRememberToken(selector: String) async throws(StoreError) {
        try await transaction("deleteRememberToken") { () throws(StoreError) in
            _ = database.tables.withLock { $0.tokens.removeValue(forKey: selector) }
        }
    }

    package func revokeUser(_ userID: Int64) async throws(StoreError) {
        try await transaction("revokeUser \(userID)") { () throws(StoreError) in
            database.tables.withLock { tables in
                tables.tokens = tables.tokens.filter { $0.value.token.userID != userID }
                tables.sessions = tables.sessions.filter { $0.value.userID != userID }
            }
        }
    }

    // MARK: Sessions

    package func saveSession(key: String, value: Data, userID: Int64?, expiresAt: Date?, now: Date, sessionsPerUser: Int) async throws(StoreError) {
        try await transaction("saveSession") { () throws(StoreError) in
            database.tables.withLock { tables in
                let expiry = expiresAt ?? tables.sessions[key]?.expiresAt
                tables.sessions[key] = (value, userID, expiry)
                guard expiresAt != nil else { return }
                tables.sessions = tables.sessions.filter { ($0.value.expiresAt ?? .distantFuture) >= now }
                if let userID {
                    let theirs = tables.sessions.filter { $0.value.userID == userID }
                        .sorted { ($0.value.expiresAt ?? .distantFuture, $0.key) > ($1.value.expiresAt ?? .distantFuture, $1.key) }
                    for (oldKey, _) in theirs.dropFirst(max(1, sessionsPerUser)) { tables.sessions[oldKey] = nil }
                }
            }
        }
    }

    package func session(key: String) async throws(StoreError) -> (value: Data, expiresAt: Date?, user: User?)? {
        try await arrive("session")
        let found = database.tables.withLock { tables -> (Data, Date?, User?)? in
            guard let session = tables.sessions[key] else { return nil }
            let user = session.userID.flatMap { id in tables.users.first { $0.id == id } }.map(Self.user)
            return (session.value, session.expiresAt, user)
        }
        await depart("session")
        return found.map { (value: $0.0, expiresAt: $0.1, user: $0.2) }
    }

    package func deleteSession(key: String) async throws(StoreError) {
        try await transaction("deleteSession") { () throws(StoreError) in
            _ = database.tables.withLock { $0.sessions.removeValue(forKey: key) }
        }
    }

    // MARK: Login attempts

    package func admitLoginAttempt(_ limits: [LoginLimit], now: Date) async throws(StoreError) -> Date? {
        try await arrive("admitLoginAttempt")
        let engine = database.engine
        if engine == .sqlite { await database.writeLock.lock() }
        var locked: [SimulatedLock] = []
        database.tables.withLock { tables in tables.loginRecords = tables.loginRecords.filter { $0.value.forgetAt >= now } }
        // What each subject's record was before this attempt counted it, for the savepoint's rollback.
        var before: [(subject: String, record: SimulatedDatabase.LoginRecord?)] = []
        var refusedUntil: Date?
        for limit in limits {
            if engine == .postgres {
                // Each subject's statement locks its row until the transaction ends.
                let lock = database.rowLock(limit.subject)
                await lock.lock()
                locked.append(lock)
            }
            await context.step("server \(server): count an attempt against \(limit.subject.prefix(8))")
            let blockedUntil = database.tables.withLock { tables in
                before.append((limit.subject, tables.loginRecords[limit.subject]))
                return Self.count(&tables.loginRecords, limit, now: now)
            }
            if let blockedUntil {
                refusedUntil = blockedUntil
                // The savepoint rolled back: nothing this attempt counted stays.
                database.tables.withLock { tables in
                    for (subject, record) in before.reversed() { tables.loginRecords[subject] = record }
                }
                break
            }
        }
        for lock in locked.reversed() { lock.unlock() }
        if engine == .sqlite { database.writeLock.unlock() }
        await depart("admitLoginAttempt")
        return refusedUntil
    }

    /// The admission statement for one subject: counts the attempt and returns nil, or returns when the subject's
    /// block ends (nothing counted).
    static func count(_ records: inout [String: SimulatedDatabase.LoginRecord], _ limit: LoginLimit, now: Date) -> Date? {
        func blocked(_ failures: Int) -> Date? {
            guard failures >= limit.allowed else { return nil }
            let doubling = Double(1 << min(failures - limit.allowed, 16))
            return now.addingTimeInterval(min(limit.maximumBackoff, limit.baseBackoff * doubling))
        }
        let forgetAt = now.addingTimeInterval(limit.retention)
        guard var record = records[limit.subject] else {
            records[limit.subject] = SimulatedDatabase.LoginRecord(failures: 1, firstFailure: now, blockedUntil: blocked(1), forgetAt: forgetAt)
            return nil
        }
        if let until = record.blockedUntil, until > now { return until }
        let restart = record.firstFailure.addingTimeInterval(limit.window) < now
        record.failures = restart ? 1 : record.failures + 1
        record.firstFailure = restart ? now : record.firstFailure
        record.blockedUntil = blocked(record.failures)
        record.forgetAt = forgetAt
        records[limit.subject] = record
        return nil
    }

    package func settleLoginAttempt(clearing: [String], releasing: [LoginLimit]) async throws(StoreError) {
        try await arrive("settleLoginAttempt")
        let engine = database.engine
        if engine == .sqlite { await database.writeLock.lock() }
        var locked: [SimulatedLock] = []
        // The statements' order, as PostgresStore runs them: one per subject, in the order of the subjects.
        for subject in (clearing + releasing.map(\.subject)).sorted() {
            if engine == .postgres {
                let lock = database.rowLock(subject)
                await lock.lock()
                locked.append(lock)
            }
            await context.step("server \(server): settle \(subject.prefix(8))")
        }
        database.tables.withLock { tables in
            for subject in clearing { tables.loginRecords[subject] = nil }
            for limit in releasing {
                guard var record = tables.loginRecords[limit.subject] else { continue }
                record.failures = max(record.failures - 1, 0)
                if record.failures < limit.allowed { record.blockedUntil = nil }
                tables.loginRecords[limit.subject] = record
            }
        }
        for lock in locked.reversed() { lock.unlock() }
        if engine == .sqlite { database.writeLock.unlock() }
        await depart("settleLoginAttempt")
    }
}
