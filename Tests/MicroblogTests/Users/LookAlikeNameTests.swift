import Foundation
import GRDB
import HummingbirdTesting
import Logging
import MicroblogClient
import PostgresNIO
import Testing
@testable import Microblog

/// Names that look alike are one name: the look-alike key (UTS #39's skeleton, through ICU), the rules that refuse
/// invisible, direction-changing and mixed-script names, the registry reserving the key with the name's, the race over
/// HTTP, and the keys given to users stored before the rule.
@Suite("Look-alike names")
struct LookAlikeNameTests {
    /// Pairs a reader cannot tell apart: each second name must collide with its first.
    static let spoofPairs: [(String, String)] = [
        ("scope", "\u{455}\u{441}\u{43E}\u{440}\u{435}"),       // Latin / all Cyrillic (ѕсоре)
        ("paypal", "\u{440}\u{430}\u{443}\u{440}\u{430}l"),      // Latin / Cyrillic р а у with Latin l: refused as mixed too
        ("KAPPA", "\u{39A}\u{391}\u{3A1}\u{3A1}\u{391}"),      // Latin / Greek capitals (ΚΑΡΡΑ)
        ("OMO", "\u{39F}\u{39C}\u{39F}"),                      // Latin / Greek capitals (ΟΜΟ)
        ("modern", "rnodern"),                                // m / rn
        ("paypal", "paypaI"),                                 // l / capital I
        ("paypal", "paypa1"),                                 // l / 1
        ("bill", "bi1I"),                                     // l / 1 / I together
        ("hello0", "hellOo"),                                 // 0 / O
        ("paypal", "\u{FF50}\u{FF41}\u{FF59}\u{FF50}\u{FF41}\u{FF4C}"), // full-width forms
        ("caf\u{E9}", "cafe\u{301}"),                          // precomposed / combining sequence
        ("\u{1EA1}n", "a\u{323}n"),                            // ạ precomposed / a + dot below
    ]

    /// Names in one script each (or scripts written together) that do not look alike: all allowed, no two collide.
    static let distinctNames: [String] = [
        "alice", "bob", "carol", "\u{3A9}\u{3BC}\u{3AD}\u{3B3}\u{3B1}", // Ωμέγα
        "\u{414}\u{43C}\u{438}\u{442}\u{440}\u{438}\u{439}",            // Дмитрий
        "\u{6771}\u{4EAC}", "\u{3055}\u{304F}\u{3089}",                  // 東京, さくら
        "tokyo\u{6771}\u{4EAC}",                                        // Latin with Han
        "\u{645}\u{62D}\u{645}\u{62F}",                                  // محمد
        "\u{5D3}\u{5D5}\u{5D3}",                                          // דוד
        "\u{BBFC}\u{C900}",                                               // 민준
        "\u{E23}\u{E32}\u{E0A}\u{E32}",                                   // ราชา
        "\u{926}\u{947}\u{935}",                                          // देव
        "user_1", "user-2", "j.doe",
    ]

    /// Names the rules refuse, each with its own message.
    static let refused: [(String, String)] = [
        ("\u{3164}", IdentityRules.invisibleMessage),                    // Hangul filler alone: blank
        ("ab\u{3164}cd", IdentityRules.invisibleMessage),
        ("\u{115F}\u{1160}x", IdentityRules.invisibleMessage),
        ("\u{FFA0}name", IdentityRules.invisibleMessage),
        ("zero\u{200B}width", IdentityRules.invisibleMessage),
        ("joined\u{200D}", IdentityRules.invisibleMessage),
        ("a\u{FE0F}b", IdentityRules.invisibleMessage),                  // variation selector
        ("abc\u{202E}fed", IdentityRules.directionControlMessage),       // right-to-left override
        ("\u{200F}alice", IdentityRules.directionControlMessage),        // right-to-left mark
        ("ab\u{2066}cd", IdentityRules.directionControlMessage),         // isolate
        ("\u{301}abc", IdentityRules.leadingMarkMessage),
        ("\u{93F}dev", IdentityRules.leadingMarkMessage),               // a spacing mark first
        ("p\u{430}ypal", IdentityRules.mixedScriptsMessage),            // Latin with a Cyrillic а
        ("\u{3B1}lpha", IdentityRules.mixedScriptsMessage),             // Latin with a Greek α
        ("\u{41C}\u{3B1}", IdentityRules.mixedScriptsMessage),          // Cyrillic with Greek
        ("a1\u{661}", IdentityRules.mixedDigitsMessage),                 // ASCII and Arabic-Indic digits
    ]

    /// 32 names, no two with the same ``IdentityKey``, all one look-alike key: `mollo` with m as m or rn, each l as
    /// l, I or 1, each o as o or 0.
    static let confusableNames: [String] = {
        var names: [String] = []
        for m in ["m", "rn"] {
            for o1 in ["o", "0"] {
                for l1 in ["l", "I", "1"] {
                    for l2 in ["l", "I", "1"] {
                        for o2 in ["o", "0"] { names.append(m + o1 + l1 + l2 + o2) }
                    }
                }
            }
        }
        return Array(names.prefix(32))
    }()

    // MARK: The key and the rules

    @Test("Spoof pairs share a look-alike key: homoglyphs of Latin in Cyrillic and Greek, rn/m, l/1/I, 0/O, full width, combining sequences")
    func spoofPairsCollide() {
        for (original, spoof) in Self.spoofPairs {
            #expect(LookAlikeKey.of(original) == LookAlikeKey.of(spoof), "\(original) / \(spoof)")
            #expect(!original.unicodeScalars.elementsEqual(spoof.unicodeScalars))
        }
        let keys = Set(Self.confusableNames.map(LookAlikeKey.of))
        #expect(keys.count == 1, "\(keys)")
        #expect(Set(Self.confusableNames.map(IdentityKey.init)).count == 32, "32 different names")
    }

    @Test("Names in one script each, in several scripts, are allowed and no two collide")
    func distinctNamesDoNotCollide() {
        for name in Self.distinctNames {
            var errors = FormErrors()
            IdentityRules.checkUsername(name, errors: &errors)
            #expect(errors.isEmpty, "\(name): \(errors["username"])")
        }
        let keys = Self.distinctNames.map(LookAlikeKey.of)
        #expect(Set(keys).count == keys.count, "\(zip(Self.distinctNames, keys).map { "\($0)=\($1)" })")
    }

    @Test("Invisible, blank, direction-changing, mark-first and mixed-script names are refused, each with its message")
    func rulesRefuse() {
        for (name, message) in Self.refused {
            var errors = FormErrors()
            IdentityRules.checkUsername(name, errors: &errors)
            #expect(errors["username"] == [message], "\(name.unicodeScalars.map { String($0.value, radix: 16) })")
        }
    }

    @Test("A user keeping a name from before the rules (any spelling of its key) is held to length and characters only")
    func keptNameSkipsNewRules() {
        var kept = FormErrors()
        IdentityRules.checkUsername("P\u{430}ypal", keeping: "p\u{430}ypal", errors: &kept)
        #expect(kept.isEmpty)
        var changed = FormErrors()
        IdentityRules.checkUsername("p\u{430}ypal2", keeping: "p\u{430}ypal", errors: &changed)
        #expect(changed["username"] == [IdentityRules.mixedScriptsMessage])
    }

    // MARK: The registry

    @Test("The registry refuses a look-alike of a stored name, and of a claim still in flight (reserved with the name)", arguments: Backend.all)
    func registryReservesLookAlikeKey(_ backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        try await env.withStore { database async throws in
            _ = try await UserRegistry(database: database).register(username: "scope", email: "s@example.com", passwordHash: "x")
            let plain = UserRegistry(database: database)
            for spoof in ["\u{455}\u{441}\u{43E}\u{440}\u{435}", "SC0PE", "sc0pe"] {
                await #expect(throws: RegistryError.nameTooSimilar) {
                    _ = try await plain.register(username: spoof, email: "\(UUID())@example.com", passwordHash: "x")
                }
            }

            let hold = FirstClaimHold()
            let registry = UserRegistry(database: database, hooks: RegistryHooks(beforePersist: { _ in await hold.pass() }))
            async let first = outcome { () async throws(RegistryError) -> User in
                try await registry.register(username: "mollo", email: "m@example.com", passwordHash: "x")
            }
            try await hold.gate.waitForArrivals(1) // the first claim holds its keys, suspended before its write
            let renamer = try #require(try await plain.register(username: "renamer", email: "r@example.com", passwordHash: "x").id)
            let second = await outcome { () async throws(RegistryError) -> User in
                try await registry.register(username: "rn0IIo", email: "n@example.com", passwordHash: "x")
            }
            let rename = await outcome { () async throws(RegistryError) in
                try await registry.updateProfile(userID: renamer, username: "mo11o", aboutMe: nil, currentUsername: "renamer")
            }
            #expect(second.failure == .nameTooSimilar, "refused by the reservation while the first is in flight")
            #expect(rename.failure == .nameTooSimilar)
            await hold.gate.open()
            #expect(try await first.get().username == "mollo")
            #expect(await hold.gate.arrivals == 1, "only the first claim reached the database")
            #expect(await registry.claimsInFlight == 0)
        }
    }

    @Test("The look-alike key's UNIQUE index is the backstop: an insert past the registry's checks is a look-alike conflict", arguments: Backend.all)
    func uniqueIndexBackstop(_ backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        try await env.withStore { database async throws in
            _ = try await UserRegistry(database: database).register(username: "bill", email: "b@example.com", passwordHash: "x")
            let error = await #expect(throws: StoreError.self) {
                try await StoreBackdoor.execute(
                    database,
                    sqlite: """
                        INSERT INTO user (username, username_key, look_alike_key, email, email_key, password_hash, last_seen)
                        VALUES ('bi1I', 'bi1i', ?, 'c@example.com', 'c@example.com', 'x', '2026-01-01 00:00:00.000')
                        """,
                    arguments: [LookAlikeKey.of("bi1I").rawValue],
                    postgres: #"""
                        INSERT INTO "user" (username, username_key, look_alike_key, email, email_key, password_hash, last_seen)
                        VALUES ('bi1I', 'bi1i', \#(LookAlikeKey.of("bi1I").rawValue), 'c@example.com', 'c@example.com', 'x', now())
                        """#
                )
            }
            #expect(error == .conflict(.lookAlike))
            #expect(error.map(RegistryError.init) == .nameTooSimilar)
        }
    }

    // MARK: Over HTTP

    /// How many of `names` a user holds.
    static func holders(of names: [String], in database: any Store) async throws -> Int {
        var count = 0
        for name in names where try await database.user(usernameKey: IdentityKey(name)) != nil { count += 1 }
        return count
    }

    @Test("32 concurrent registrations of 32 different but confusable names, then 32 renames to them: one holder each time, 31 'too similar', no 5xx", arguments: Backend.all)
    func raceOnOneServer(_ backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        let names = Self.confusableNames
        let renamed = names.map { $0 + "x" }
        try await env.withLiveServer { client in
            let registrations = try await RegistryHTTPRaceTests.register(names, clients: [client], rejection: FormErrors.nameTooSimilar)
            print("look-alike registrations: \(registrations)")
            #expect(registrations.redirects == 1 && registrations.rejected == 31 && registrations.serverErrors == 0 && registrations.other == 0, "\(registrations)")
            let browsers = try await RegistryHTTPRaceTests.signUp(count: 32, clients: [client], prefix: "lookalike")
            let renames = try await RegistryHTTPRaceTests.rename(browsers, to: renamed, rejection: FormErrors.nameTooSimilar)
            print("look-alike renames: \(renames)")
            #expect(renames.redirects == 1 && renames.rejected == 31 && renames.serverErrors == 0 && renames.other == 0, "\(renames)")
        }
        try await env.withStore { database async throws in
            #expect(try await Self.holders(of: names, in: database) == 1)
            #expect(try await Self.holders(of: renamed, in: database) == 1)
        }
    }

    @Test("The same race on two server instances on one database: one holder each time, no 5xx", arguments: Backend.all)
    func raceOnTwoInstances(_ backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        let first = try await env.makeApplication()
        let second = try await env.makeApplication()
        let names = Self.confusableNames
        let renamed = names.map { $0 + "x" }
        try await first.test(.live) { firstServer in
            try await second.test(.live) { secondServer in
                try await LiveClient.with(firstServer) { one in
                    try await LiveClient.with(secondServer) { two in
                        let registrations = try await RegistryHTTPRaceTests.register(names, clients: [one, two], rejection: FormErrors.nameTooSimilar)
                        print("two instances, look-alike registrations: \(registrations)")
                        #expect(registrations.redirects == 1 && registrations.rejected == 31 && registrations.serverErrors == 0 && registrations.other == 0, "\(registrations)")
                        let browsers = try await RegistryHTTPRaceTests.signUp(count: 32, clients: [one, two], prefix: "twinlook")
                        let renames = try await RegistryHTTPRaceTests.rename(browsers, to: renamed, rejection: FormErrors.nameTooSimilar)
                        print("two instances, look-alike renames: \(renames)")
                        #expect(renames.redirects == 1 && renames.rejected == 31 && renames.serverErrors == 0 && renames.other == 0, "\(renames)")
                    }
                }
            }
        }
        try await env.withStore { database async throws in
            #expect(try await Self.holders(of: names, in: database) == 1)
            #expect(try await Self.holders(of: renamed, in: database) == 1)
        }
    }

    @Test("The registration form names each refusal: invisible, mixed scripts, too similar", arguments: Backend.all)
    func formMessages(_ backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        try await env.withLiveServer { client in
            try await Browser(client).signUp("scope")
            for (name, message) in [
                ("\u{3164}", IdentityRules.invisibleMessage),
                ("p\u{430}ypal", IdentityRules.mixedScriptsMessage),
                ("\u{455}\u{441}\u{43E}\u{440}\u{435}", FormErrors.nameTooSimilar),
            ] {
                let browser = Browser(client)
                let page = try await browser.post("/register", FormFields.registration(
                    username: name, email: "\(UUID())@example.com", password: "password-123"
                ), tokenFrom: "/register")
                #expect(page.status == .ok && page.contains(message), "\(name): \(page.status)")
            }
        }
    }

    // MARK: Users stored before the rule

    static let scopeCyrillic = "\u{455}\u{441}\u{43E}\u{440}\u{435}"

    /// Checks a database that had `scope` (1), its Cyrillic look-alike (2) and `alice` (3) before the look-alike rule.
    static func checkBackfilled(_ database: any Store, reported: [LookAlikeName]) async throws {
        #expect(reported == [LookAlikeName(username: scopeCyrillic, looksLike: "scope")])
        let scope = try #require(try await database.user(id: 1))
        let cyrillic = try #require(try await database.user(id: 2))
        let alice = try #require(try await database.user(id: 3))
        #expect(scope.lookAlikeKey == LookAlikeKey.of("scope").rawValue)
        #expect(cyrillic.lookAlikeKey == nil && cyrillic.username == scopeCyrillic, "keeps the name, holds no key")
        #expect(alice.lookAlikeKey == LookAlikeKey.of("alice").rawValue)
        // Both keep their names; new claims meet the constraint.
        let registry = UserRegistry(database: database)
        try await registry.updateProfile(userID: 2, username: scopeCyrillic, aboutMe: "still here", currentUsername: scopeCyrillic)
        #expect(try await database.user(id: 2)?.aboutMe == "still here")
        await #expect(throws: RegistryError.nameTooSimilar) {
            _ = try await registry.register(username: "sc0pe", email: "new@example.com", passwordHash: "x")
        }
        // Reported again at the next start, nothing changed.
        #expect(try await database.assignLookAlikeKeys() == reported)
    }

    @Test("v5 on SQLite: users stored before it get their keys; of a colliding pair the first keeps the key, the second is reported and keeps the name")
    func backfillOnSQLite() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("old.db")
        let queue = try DatabaseQueue(path: path)
        try SQLiteStore.migrator.migrate(queue, upTo: "v3: remember-me rotation, sessions by user")
        try await queue.write { db in
            for (id, name) in [(1, "scope"), (2, Self.scopeCyrillic), (3, "alice")] {
                try db.execute(sql: """
                    INSERT INTO user (id, username, username_key, email, email_key, password_hash, last_seen)
                    VALUES (?, ?, ?, ?, ?, 'x', '2026-01-01 00:00:00.000')
                    """, arguments: [id, name, IdentityKey(name).rawValue, "u\(id)@example.com", "u\(id)@example.com"])
            }
        }
        try queue.close()

        let store = try SQLiteStore.openFile(atPath: path)
        let reported = try await store.assignLookAlikeKeys()
        try await Self.checkBackfilled(store, reported: reported)

        // Keys from other ICU data are computed anew.
        try await store.write { db in
            try db.execute(sql: "UPDATE look_alike_source SET version = 'older data'")
            try db.execute(sql: "UPDATE user SET look_alike_key = 'stale' WHERE id = 3")
        }
        #expect(try await store.assignLookAlikeKeys() == reported)
        #expect(try await store.user(id: 3)?.lookAlikeKey == LookAlikeKey.of("alice").rawValue)
    }

    @Test("v5 on PostgreSQL: the same backfill")
    func backfillOnPostgres() async throws {
        let settings = try await Backend.makePostgresDatabase()
        let logger = Logger(label: "migration-test")
        let connection = try await PostgresStore.connectDirectly(settings, logger: logger)
        do {
            try await connection.query("CREATE TABLE microblog_migration (name TEXT PRIMARY KEY)", logger: logger)
            for migration in PostgresStore.migrations.prefix(4) {
                for statement in migration.statements { try await connection.query(statement, logger: logger) }
                try await connection.query("INSERT INTO microblog_migration (name) VALUES (\(migration.name))", logger: logger)
            }
            for (id, name) in [(1, "scope"), (2, Self.scopeCyrillic), (3, "alice")] {
                let (key, email) = (IdentityKey(name).rawValue, "u\(id)@example.com")
                try await connection.query(#"""
                    INSERT INTO "user" (id, username, username_key, email, email_key, password_hash, last_seen)
                    VALUES (\#(id), \#(name), \#(key), \#(email), \#(email), 'x', now())
                    """#, logger: logger)
            }
            try await connection.close()
        } catch {
            try? await connection.close()
            throw error
        }

        let store = try await PostgresStore.open(settings, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await store.service.run() }
            defer { group.cancelAll() }
            let reported = try await store.assignLookAlikeKeys()
            try await Self.checkBackfilled(store, reported: reported)
        }
    }
}
