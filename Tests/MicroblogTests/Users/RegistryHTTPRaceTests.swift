import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MicroblogClient
import Testing
@testable import Microblog

/// The race over HTTP, against live servers on ephemeral ports: what the tutorial's server answers with 500s.
@Suite("Username races over HTTP")
struct RegistryHTTPRaceTests {
    struct Tally: CustomStringConvertible {
        var redirects = 0
        var rejected = 0
        var serverErrors = 0
        var other = 0

        mutating func count(_ page: Page, rejection: String) {
            switch page.status.code {
            case 302: redirects += 1
            case 200 where page.contains(rejection): rejected += 1
            case 500...: serverErrors += 1
            default: other += 1
            }
        }

        var description: String { "302: \(redirects), rejected: \(rejected), 5xx: \(serverErrors), other: \(other)" }
    }

    /// Signs up `count` users, each in its own browser, spread over the given clients (server instances).
    static func signUp(count: Int, clients: [any HTTPTransport], prefix: String) async throws -> [Browser] {
        try await withThrowingTaskGroup(of: Browser.self) { group in
            for index in 0..<count {
                group.addTask {
                    let browser = Browser(clients[index % clients.count])
                    try await browser.signUp("\(prefix)\(index)")
                    return browser
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
    }

    /// Every browser posts a rename to `name` at once; the CSRF tokens are fetched first.
    static func renameAll(_ browsers: [Browser], to name: String) async throws -> Tally {
        try await rename(browsers, to: Array(repeating: name, count: browsers.count), rejection: FormErrors.usernameTaken)
    }

    /// Browser `i` posts a rename to `names[i]`, all at once; the CSRF tokens are fetched first. A 200 page with
    /// `rejection` on it counts as rejected.
    static func rename(_ browsers: [Browser], to names: [String], rejection: String) async throws -> Tally {
        var prepared: [(Browser, String)] = []
        for browser in browsers { prepared.append((browser, try await browser.csrfToken(from: "/edit_profile"))) }
        return try await withThrowingTaskGroup(of: Page.self) { group in
            for (index, (browser, token)) in prepared.enumerated() {
                group.addTask {
                    try await browser.post("/edit_profile", FormFields.editProfile(csrfToken: token, username: names[index], aboutMe: ""), csrf: false)
                }
            }
            var tally = Tally()
            for try await page in group { tally.count(page, rejection: rejection) }
            return tally
        }
    }

    /// `count` anonymous browsers register `name` at once, each with its own e-mail address.
    static func registerAll(count: Int, clients: [any HTTPTransport], name: String) async throws -> Tally {
        try await register(Array(repeating: name, count: count), clients: clients, rejection: FormErrors.usernameTaken)
    }

    /// An anonymous browser per name registers it, all at once, spread over `clients`, each with its own e-mail
    /// address. A 200 page with `rejection` on it counts as rejected.
    static func register(_ names: [String], clients: [any HTTPTransport], rejection: String) async throws -> Tally {
        var prepared: [(Browser, String)] = []
        for index in names.indices {
            let browser = Browser(clients[index % clients.count])
            prepared.append((browser, try await browser.csrfToken(from: "/register")))
        }
        return try await withThrowingTaskGroup(of: Page.self) { group in
            for (index, (browser, token)) in prepared.enumerated() {
                group.addTask {
                    try await browser.post("/register", FormFields.registration(
                        csrfToken: token, username: names[index], email: "\(names[index])\(index)@example.com", password: "password-\(index)"
                    ), csrf: false)
                }
            }
            var tally = Tally()
            for try await page in group { tally.count(page, rejection: rejection) }
            return tally
        }
    }

    @Test("d. 64 concurrent renames to one free name: one 302, 63 form errors, no 5xx", arguments: Backend.all)
    func concurrentRenames(backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        try await env.withLiveServer { client in
            let browsers = try await Self.signUp(count: 64, clients: [client], prefix: "renamer")
            for round in 0..<3 {
                let tally = try await Self.renameAll(browsers, to: "Prize\(round)")
                print("HTTP rename race round \(round): \(tally)")
                #expect(tally.redirects == 1 && tally.rejected == 63 && tally.serverErrors == 0 && tally.other == 0, "\(tally)")
            }
        }
        try await env.withStore { database async throws in
            // Each round's winner may move on to the next prize: the last one is held, none is held twice.
            #expect(try await database.countUsers(usernameKey: IdentityKey("prize2")) == 1)
            for round in 0..<2 {
                #expect(try await database.countUsers(usernameKey: IdentityKey("prize\(round)")) <= 1)
            }
        }
    }

    @Test("d. 64 concurrent registrations of one name: one 302, 63 form errors, no 5xx", arguments: Backend.all)
    func concurrentRegistrations(backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        try await env.withLiveServer { client in
            for round in 0..<3 {
                let tally = try await Self.registerAll(count: 64, clients: [client], name: "newcomer\(round)")
                print("HTTP registration race round \(round): \(tally)")
                #expect(tally.redirects == 1 && tally.rejected == 63 && tally.serverErrors == 0 && tally.other == 0, "\(tally)")
            }
        }
        try await env.withStore { database async throws in
            #expect(try await database.countUsers(usernameKey: IdentityKey("newcomer0")) == 1)
        }
    }

    @Test("e. Two server instances on one database: one holder, no 5xx", arguments: Backend.all)
    func twoInstances(backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        let first = try await env.makeApplication()
        let second = try await env.makeApplication()
        try await first.test(.live) { firstServer in
            try await second.test(.live) { secondServer in
              try await LiveClient.with(firstServer) { one in
               try await LiveClient.with(secondServer) { two in
                let browsers = try await Self.signUp(count: 64, clients: [one, two], prefix: "twin")
                for round in 0..<3 {
                    let renames = try await Self.renameAll(browsers, to: "Shared\(round)")
                    print("two instances, rename round \(round): \(renames)")
                    #expect(renames.redirects == 1 && renames.serverErrors == 0 && renames.other == 0, "\(renames)")
                    let registrations = try await Self.registerAll(count: 64, clients: [one, two], name: "joined\(round)")
                    print("two instances, registration round \(round): \(registrations)")
                    #expect(registrations.redirects == 1 && registrations.serverErrors == 0 && registrations.other == 0, "\(registrations)")
                }
               }
              }
            }
        }
        try await env.withStore { database async throws in
            // A round's winner may win the next round too and leave the earlier name: the last one is held.
            #expect(try await database.countUsers(usernameKey: IdentityKey("shared2")) == 1)
            for round in 0..<3 {
                #expect(try await database.countUsers(usernameKey: IdentityKey("shared\(round)")) <= 1)
                #expect(try await database.countUsers(usernameKey: IdentityKey("joined\(round)")) == 1)
            }
        }
    }

    @Test("e. Two server processes (the real executable) on one database: one holder, no 5xx", arguments: Backend.all)
    func twoProcesses(backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        let environment = env.serverEnvironment
        let first = try await ServerProcess.start(environment: environment, workingDirectory: env.directory)
        defer { first.stop() }
        let second = try await ServerProcess.start(environment: environment, workingDirectory: env.directory)
        defer { second.stop() }
        try await LiveClient.with(port: first.port) { one in
            try await LiveClient.with(port: second.port) { two in
                let browsers = try await Self.signUp(count: 64, clients: [one, two], prefix: "proc")
                for round in 0..<3 {
                    let renames = try await Self.renameAll(browsers, to: "Process\(round)")
                    print("two processes, rename round \(round): \(renames)")
                    #expect(renames.redirects == 1 && renames.serverErrors == 0 && renames.other == 0, "\(renames)")
                    let registrations = try await Self.registerAll(count: 64, clients: [one, two], name: "procjoin\(round)")
                    print("two processes, registration round \(round): \(registrations)")
                    #expect(registrations.redirects == 1 && registrations.serverErrors == 0 && registrations.other == 0, "\(registrations)")
                }
            }
        }
        try await env.withStore { database async throws in
            #expect(try await database.countUsers(usernameKey: IdentityKey("process2")) == 1)
            for round in 0..<3 {
                #expect(try await database.countUsers(usernameKey: IdentityKey("procjoin\(round)")) == 1)
            }
        }
    }

    @Test("f. A name changes hands: A renames to B's name while B renames to a free one, repeatedly: each answer a 302 or the form error, never both holders, no 5xx", arguments: Backend.all)
    func nameChangesHands(backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        let (moved, taken) = try await env.withLiveServer { client in
            var (moved, taken) = (0, 0)
            let browsers = try await Self.signUp(count: 2, clients: [client], prefix: "swapper")
            let (a, b) = (browsers[0], browsers[1])
            let nameOf = { (browser: Browser) async throws -> String in
                try #require(try await browser.get("/edit_profile").inputValue(named: "username"))
            }
            for round in 0..<25 {
                let nameB = try await nameOf(b)
                let tokenA = try await a.csrfToken(from: "/edit_profile")
                let tokenB = try await b.csrfToken(from: "/edit_profile")
                // Whether A gets the name depends on the schedule: B's release may or may not come before A's claim.
                async let answerA = a.post("/edit_profile", FormFields.editProfile(csrfToken: tokenA, username: nameB, aboutMe: ""), csrf: false)
                async let answerB = b.post("/edit_profile", FormFields.editProfile(csrfToken: tokenB, username: "free\(round)", aboutMe: ""), csrf: false)
                let (pageA, pageB) = try await (answerA, answerB)
                #expect(pageB.status == .found, "B's rename to a free name: \(pageB.status)")
                if pageA.status == .found {
                    moved += 1
                } else {
                    #expect(pageA.status == .ok && pageA.contains("Please use a different username."), "A: \(pageA.status)")
                    taken += 1
                }
                #expect(try await nameOf(b) == "free\(round)")
            }
            return (moved, taken)
        }
        print("name changes hands: A got the name \(moved) times, was told 'taken' \(taken) times of 25")
        try await env.withStore { database async throws in
            #expect(try await database.countDuplicateUsernameKeys() == 0)
        }
    }

    @Test("g. While the winner's claim is held inside the registry, 32 renames to the same name over HTTP reach it and are refused by its reservation", arguments: Backend.all)
    func claimsMeetInTheRegistry(backend: Backend) async throws {
        var env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        let holdFirst = FirstClaimHold()
        let gate = holdFirst.gate
        env.registryHooks = RegistryHooks(beforePersist: { key in
            if key == IdentityKey("contested") { await holdFirst.pass() }
        })
        try await env.withLiveServer { client in
            let browsers = try await Self.signUp(count: 33, clients: [client], prefix: "claimant")
            let winner = browsers[0]
            let token = try await winner.csrfToken(from: "/edit_profile")
            async let winning = winner.post("/edit_profile", FormFields.editProfile(csrfToken: token, username: "contested", aboutMe: ""), csrf: false)
            // The winner holds its reservation, suspended before its write: the database does not hold the name yet,
            // so the form's advisory lookup lets every other rename through to the registry.
            try await gate.waitForArrivals(1)
            let tally = try await Self.renameAll(Array(browsers.dropFirst()), to: "Contested")
            #expect(tally.rejected == 32 && tally.redirects == 0 && tally.serverErrors == 0, "\(tally)")
            await gate.open()
            #expect(try await winning.status == .found)
            #expect(await gate.arrivals == 1, "only the winner reached the write")
        }
        try await env.withStore { database async throws in
            #expect(try await database.countUsers(usernameKey: IdentityKey("contested")) == 1)
        }
    }
}
