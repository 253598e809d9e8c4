import Benchmark
import Foundation
import HTTPTypes
import HummingbirdTesting
import Microblog
import Mustache

/// The microblog's micro-benchmarks (package-benchmark). Every fixture is built in a `setup` hook and removed in
/// `teardown`; the measured closures only do the thing named. Run with
/// `MICROBLOG_BENCHMARKS=1 swift package --scratch-path .build-bench benchmark` (see Benchmarks/README.md).
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .throughput, .mallocCountTotal],
        warmupIterations: 10,
        maxDuration: .seconds(3),
        maxIterations: 100_000
    )

    registryBenchmarks()
    pageBenchmarks()
    renderBenchmarks()
    gravatarBenchmarks()
    identityBenchmarks()
    formBenchmarks()
    logSinkBenchmarks()
    bcryptBenchmarks()
}

// MARK: UserRegistry

/// Claims through `UserRegistry`, each persisted in one SQLite transaction (WAL, on a temporary file).
func registryBenchmarks() {
    let fixture = FixtureSlot<RegistryFixture>()
    let claimants = 64
    let setup: Benchmark.BenchmarkSetupHook = { fixture.set(try await RegistryFixture.make(claimants: claimants)) }
    let teardown: Benchmark.BenchmarkTeardownHook = { fixture.take()?.folder.remove() }

    Benchmark(
        "Registry: rename to a free name, uncontended",
        configuration: .init(setup: setup, teardown: teardown)
    ) { benchmark in
        let fixture = try fixture.get()
        let userID = fixture.userIDs[0]
        for _ in benchmark.scaledIterations {
            try await fixture.registry.updateProfile(userID: userID, username: fixture.names.next(), aboutMe: nil)
        }
    }

    Benchmark(
        "Registry: register a free name, uncontended",
        configuration: .init(setup: setup, teardown: teardown)
    ) { benchmark in
        let fixture = try fixture.get()
        for _ in benchmark.scaledIterations {
            let name = fixture.names.next()
            blackHole(try await fixture.registry.register(username: name, email: "\(name)@bench.example.com", passwordHash: "x"))
        }
    }

    // One iteration: 64 renames to one fresh name released together; exactly one must win.
    Benchmark(
        "Registry: 64 renames contending for one name",
        configuration: .init(maxIterations: 2_000, setup: setup, teardown: teardown)
    ) { benchmark in
        let fixture = try fixture.get()
        for _ in benchmark.scaledIterations {
            let name = fixture.names.next()
            let winners = await withTaskGroup(of: Bool.self) { group in
                for userID in fixture.userIDs {
                    group.addTask {
                        do throws(RegistryError) {
                            try await fixture.registry.updateProfile(userID: userID, username: name, aboutMe: nil)
                            return true
                        } catch {
                            return false
                        }
                    }
                }
                return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            if winners != 1 { benchmark.error("\(winners) claimants won \(name)") }
        }
    }
}

// MARK: Pages

/// `/index` and `/user/<name>` for a logged-in user with 20 posts, through the whole router: middleware, session
/// and user lookups, database reads, rendering (no sockets).
func pageBenchmarks() {
    let router = FixtureSlot<RouterFixture>()
    let setup: Benchmark.BenchmarkSetupHook = { router.set(try await RouterFixture.make(posts: 20)) }
    let teardown: Benchmark.BenchmarkTeardownHook = { await router.take()?.stop() }

    for path in ["/index", "/user/\(PageUser.username)"] {
        Benchmark(
            "Page: GET \(path) logged in, through the router",
            configuration: .init(setup: setup, teardown: teardown)
        ) { benchmark in
            let fixture = try router.get()
            for _ in benchmark.scaledIterations {
                let response = try await fixture.get(path)
                if response.status != .ok { benchmark.error("GET \(path) answered \(response.status.code)") }
                blackHole(response)
            }
        }
    }
}

// MARK: Render

/// The `index` and `user` pages with 20 posts rendered from the server's page models: by the templates compiled
/// into the server (`render(into:)` writing into an `HTMLWriter`), and by swift-mustache reading the same template
/// files and the same models at run time. Setup checks that both write the same bytes.
func renderBenchmarks() {
    let pages = FixtureSlot<RenderFixture>()
    let configuration = Benchmark.Configuration(
        setup: { pages.set(try await RenderFixture.make(posts: 20)) },
        teardown: { _ = pages.take() }
    )

    Benchmark("Render: index page, 20 posts, compiled template", configuration: configuration) { benchmark in
        let fixture = try pages.get()
        for _ in benchmark.scaledIterations {
            var html = HTMLWriter()
            fixture.index.render(into: &html)
            blackHole(html.buffer)
        }
    }
    Benchmark("Render: index page, 20 posts, swift-mustache", configuration: configuration) { benchmark in
        let fixture = try pages.get()
        for _ in benchmark.scaledIterations {
            blackHole(fixture.mustache.render(fixture.index, withTemplate: "index"))
        }
    }
    Benchmark("Render: user page, 20 posts, compiled template", configuration: configuration) { benchmark in
        let fixture = try pages.get()
        for _ in benchmark.scaledIterations {
            var html = HTMLWriter()
            fixture.user.render(into: &html)
            blackHole(html.buffer)
        }
    }
    Benchmark("Render: user page, 20 posts, swift-mustache", configuration: configuration) { benchmark in
        let fixture = try pages.get()
        for _ in benchmark.scaledIterations {
            blackHole(fixture.mustache.render(fixture.user, withTemplate: "user"))
        }
    }
}

// MARK: Gravatar

/// One avatar URL (MD5 of the trimmed, lower-cased address, in hex): a page makes one per author of its posts, and
/// a profile page one more for the profile.
func gravatarBenchmarks() {
    Benchmark("Gravatar: one avatar URL", configuration: .init(scalingFactor: .kilo)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(Gravatar.url(email: "susan@bench.example.com", size: 36))
        }
    }
}

// MARK: Identity

/// What a registration or a rename computes of its username besides the name key: the look-alike key (two ICU
/// skeletons around the case folding) and the mixed-script check.
func identityBenchmarks() {
    Benchmark("Identity: name key of a username", configuration: .init(scalingFactor: .kilo)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(IdentityKey("Susan_Smith-1984"))
        }
    }
    Benchmark("Identity: look-alike key of a username", configuration: .init(scalingFactor: .kilo)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(LookAlikeKey.of("Susan_Smith-1984"))
        }
    }
    Benchmark("Identity: mixed-script check of a username", configuration: .init(scalingFactor: .kilo)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(LookAlikeKey.mixing("Susan_Smith-1984"))
        }
    }
}

// MARK: Forms

/// `FormData` decoding of the bodies browsers send.
func formBenchmarks() {
    let editProfile = Array(
        "csrf_token=Xb2kqz3Lr9yTQ0pW1mN8vC4sD7fG6hJ5aK_eR-uIoPl&username=susan&about_me=I+like+benchmarks+%26+fast+pages.+%F0%9F%9A%80&submit=Submit"
            .utf8
    )
    let registration = Array(
        "csrf_token=Xb2kqz3Lr9yTQ0pW1mN8vC4sD7fG6hJ5aK_eR-uIoPl&username=susan&email=susan%40example.com&password=correct+horse+battery+staple&password2=correct+horse+battery+staple&submit=Register"
            .utf8
    )
    Benchmark("Form: decode edit_profile body", configuration: .init(scalingFactor: .kilo)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try FormData(body: editProfile))
        }
    }
    Benchmark("Form: decode register body", configuration: .init(scalingFactor: .kilo)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try FormData(body: registration))
        }
    }
}

// MARK: Log sink

/// The log sink as the server configures it (10 KiB files, 10 backups, INFO): what a `log` call costs the caller,
/// and how many records per second reach the file.
func logSinkBenchmarks() {
    let fixture = FixtureSlot<LogSinkFixture>()
    let setup: Benchmark.BenchmarkSetupHook = { fixture.set(try LogSinkFixture.make()) }
    let teardown: Benchmark.BenchmarkTeardownHook = { await fixture.take()?.stop() }
    let recordsPerIteration = 1_000

    // One iteration: 1,000 log calls measured; the flush after them is not (the buffer never fills).
    Benchmark(
        "Log sink: one log call, the caller's cost (1,000 calls per iteration)",
        configuration: .init(maxIterations: 2_000, setup: setup, teardown: teardown)
    ) { benchmark in
        let fixture = try fixture.get()
        for _ in benchmark.scaledIterations {
            benchmark.startMeasurement()
            fixture.logRecords(recordsPerIteration)
            benchmark.stopMeasurement()
            await fixture.sink.flush()
        }
    }

    // One iteration: 1,000 log calls and the wait until every one is in the file. At 10 KiB a file rotates every
    // 70 records, ten renames each; the same with 10 MiB files shows what the file system's renames cost.
    for (name, maxBytes) in [("10 KiB x 10 files (the server's)", 10_240), ("10 MiB x 10 files", 10 << 20)] {
        let fixture = FixtureSlot<LogSinkFixture>()
        Benchmark(
            "Log sink: 1,000 records logged and written, \(name)",
            configuration: .init(
                maxIterations: 2_000,
                setup: { fixture.set(try LogSinkFixture.make(maxBytes: maxBytes)) },
                teardown: { await fixture.take()?.stop() }
            )
        ) { benchmark in
            let fixture = try fixture.get()
            for _ in benchmark.scaledIterations {
                fixture.logRecords(recordsPerIteration)
                await fixture.sink.flush()
            }
        }
    }
}

// MARK: bcrypt

/// bcrypt at the configured cost (`BCRYPT_COST`, 12 by default), on NIO's thread pool as the server runs it.
func bcryptBenchmarks() {
    let cost = UInt8(ProcessInfo.processInfo.environment["BCRYPT_COST"].flatMap { Int($0) }.map { min(max($0, 4), 31) } ?? 12)
    let hasher = FixtureSlot<(PasswordHasher, String)>()
    let setup: Benchmark.BenchmarkSetupHook = {
        let passwords = PasswordHasher(cost: cost)
        hasher.set((passwords, try await passwords.hash("correct horse battery staple")))
    }
    let configuration = Benchmark.Configuration(
        warmupIterations: 1, maxDuration: .seconds(10), maxIterations: 20, setup: setup, teardown: { _ = hasher.take() }
    )
    Benchmark("bcrypt: hash at cost \(cost)", configuration: configuration) { benchmark in
        let (passwords, _) = try hasher.get()
        for _ in benchmark.scaledIterations {
            blackHole(try await passwords.hash("correct horse battery staple"))
        }
    }
    Benchmark("bcrypt: verify at cost \(cost)", configuration: configuration) { benchmark in
        let (passwords, hash) = try hasher.get()
        for _ in benchmark.scaledIterations {
            blackHole(try await passwords.verify("correct horse battery staple", hash: hash))
        }
    }
}
