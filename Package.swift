// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]
// One of the simulation's mutants, compiled in only when asked (Tests/scripts/simulation-mutants.sh): a guard of the
// registry, the login throttle or the log sink removed, which the simulation must find.
let mutant: [SwiftSetting] = Context.environment["MICROBLOG_SIMULATION_MUTANT"].map { [.define($0)] } ?? []

let package = Package(
    name: "microblog",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "microblog", targets: ["MicroblogServer"]),
        .library(name: "Microblog", targets: ["Microblog"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.8.1"),
    ],
    targets: [
        .target(
            name: "Microblog",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                // Only for ConnectionPoolError: PostgresClient maps a closed pool and a cancelled request to PSQLError, but
                // throws connectionCreationCircuitBreakerTripped (no connection can be made) as this module's own type.
                .product(name: "_ConnectionPoolModule", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "SystemPackage", package: "swift-system"),
                "CICUSpoof",
            ],
            exclude: ["Views/Templates"],
            swiftSettings: swiftSettings + mutant,
            plugins: ["CompileViews"]
        ),
        // ICU's spoof checker (UTS #39) from the system's ICU (Debian's libicu-dev): the look-alike name rules. A C
        // target rather than a system-library module: its header names no ICU type, which would clash with the copy of
        // ICU's headers Foundation brings into every Swift module.
        .target(
            name: "CICUSpoof",
            linkerSettings: [.linkedLibrary("icui18n"), .linkedLibrary("icuuc"), .linkedLibrary("icudata")]
        ),
        // The deterministic simulation: a seeded executor that runs the real actors (the registry, the login throttle,
        // the log sink) through schedules and faults chosen by a seed, an in-memory store, and the workloads with their
        // invariants. Used by the tests, not by the server.
        .target(
            name: "MicroblogSimulation",
            dependencies: ["Microblog"],
            swiftSettings: swiftSettings
        ),
        // swift-mustache rendering the same templates: the reference the tests and the benchmarks hold the compiled
        // pages to. Not a dependency of the server.
        .target(
            name: "MustacheReference",
            dependencies: [.product(name: "Mustache", package: "swift-mustache")],
            swiftSettings: swiftSettings
        ),
        // The page templates, compiled into Swift at build time (Views/Templates → one `render(into:)` per page).
        .executableTarget(name: "MustacheCompiler", swiftSettings: swiftSettings),
        .plugin(name: "CompileViews", capability: .buildTool(), dependencies: ["MustacheCompiler"], path: "Sources/CompileViewsPlugin"),
        // What any client of the microblog HTTP contract needs whatever carries its requests: cookies, form bodies,
        // the form pages' inputs and the contract's form fields (the stress tool, the tests, the benchmarks).
        .target(
            name: "MicroblogClient",
            dependencies: [
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "MicroblogServer",
            dependencies: [
                "Microblog",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MicroblogTests",
            dependencies: [
                "Microblog",
                "MicroblogSimulation",
                "MicroblogClient",
                "MustacheReference",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
        ),
    ]
)

// The HTTP stress tool (Benchmarks/README.md): races and loads any server speaking the microblog HTTP contract.
package.dependencies += [
    .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
]
package.products += [
    .executable(name: "microblog-stress", targets: ["MicroblogStress"]),
]
package.targets += [
    .executableTarget(
        name: "MicroblogStress",
        dependencies: [
            "MicroblogClient",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Histogram", package: "hdrhistogram-swift"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ],
        swiftSettings: swiftSettings
    ),
]

// The package-benchmark suites, built only when asked: MICROBLOG_BENCHMARKS=1 swift package benchmark.
if Context.environment["MICROBLOG_BENCHMARKS"] != nil {
    package.dependencies += [
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
    ]
    package.targets += [
        .executableTarget(
            name: "MicroblogBenchmarks",
            dependencies: [
                "Microblog",
                "MicroblogClient",
                "MustacheReference",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                // swift-mustache renders the page templates beside the compiled ones (the render benchmarks).
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Benchmarks/MicroblogBenchmarks",
            swiftSettings: swiftSettings,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // Request latency with the error-mail SMTP server up vs stalled (Benchmarks/mail-stall.sh).
        .executableTarget(
            name: "MicroblogMailStall",
            dependencies: [
                "Microblog",
                "MicroblogClient",
                "MicroblogSimulation",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Benchmarks/Tools/MailStall", // not directly under Benchmarks/: package-benchmark would take it for a suite
            swiftSettings: swiftSettings
        ),
    ]
    package.products += [
        .executable(name: "microblog-mail-stall", targets: ["MicroblogMailStall"]),
    ]
}
