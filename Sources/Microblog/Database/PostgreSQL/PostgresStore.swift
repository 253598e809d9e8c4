import CoreMetrics
import Foundation
import Logging
import NIOCore
import PostgresNIO
import ServiceLifecycle

/// The microblog's ``Store`` in PostgreSQL: the engine for several server instances sharing one database.
///
/// Connections come from one pooled `PostgresClient` per instance, whose ``service`` must run beside the HTTP
/// server (the composition root adds it). Every write method is one transaction on one connection; the UNIQUE
/// constraints on the normalised keys are the arbiter between instances, and a violation becomes the same
/// ``StoreError/conflict(_:)`` as on SQLite. Each call is bounded by ``PostgresSettings/queryTimeout``
/// (waiting for a connection included): past it, or with the server unreachable, it throws
/// ``StoreError/unavailable(_:)`` (a 503), and the pool reconnects by itself when the server is back.
package struct PostgresStore: Store {
    let client: PostgresClient
    let settings: PostgresSettings
    let logger: Logger
    /// Test-only hooks called inside write transactions; empty in production.
    let faults: DatabaseFaults
    /// The pool's connections leased right now.
    let connectionsInUse: Meter

    /// The pool's background work: run it as a service for as long as the store is used.
    package var service: any Service { client }

    /// Migrates the database on one direct connection, then makes the pool (not yet running: see ``service``).
    /// - Throws: ``StoreError`` when the server cannot be reached or the schema cannot be migrated.
    package static func open(
        _ settings: PostgresSettings,
        logger: Logger,
        faults: DatabaseFaults = .none,
        metrics: AppMetrics = .none
    ) async throws(StoreError) -> PostgresStore {
        LookAlikeName.report(try await migrate(settings, logger: logger), to: logger)
        var configuration = settings.endpoint(PostgresClient.Configuration.self)
        configuration.options.maximumConnections = settings.maxConnections
        configuration.options.connectTimeout = settings.connectTimeout
        configuration.options.additionalStartupParameters = Self.startupParameters(settings)
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        return PostgresStore(
            client: client, settings: settings, logger: logger, faults: faults, connectionsInUse: metrics.databaseConnectionsInUse()
        )
    }

    /// Session settings sent when each connection opens. On the pool's connections a statement runs for the read
    /// budget at most (a write transaction raises it to the write budget; past it `57014`, a 503) and a wait for
    /// another transaction's lock ends at the busy timeout (`55P03`, a 503 for load). The migrating connection has
    /// the call's timeout and no lock timeout: an index built on a large table, or another instance's migration, is
    /// worth waiting for.
    static func startupParameters(_ settings: PostgresSettings, lockTimeout: Bool = true) -> [(String, String)] {
        let statementTimeout = lockTimeout ? settings.statementBudget.reads : settings.queryTimeout
        var parameters = [("statement_timeout", String(max(1, statementTimeout.wholeMilliseconds))), ("TimeZone", "UTC")]
        if lockTimeout {
            parameters.append(("lock_timeout", String(max(1, settings.lockTimeout.wholeMilliseconds))))
        }
        return parameters
    }

    /// Runs `body` on a pooled connection, converting errors into ``StoreError`` that remembers the calling
    /// storage method.
    func withConnection<T: Sendable>(
        file: StaticString = #fileID,
        line: UInt = #line,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws(StoreError) -> T {
        let (client, inUse) = (client, connectionsInUse)
        do {
            return try await bounded { try await client.withConnection { connection in try await Self.leased(inUse) { try await body(connection) } } }
        } catch {
            throw StoreError(postgres: error, location: "\(file):\(line)")
        }
    }

    /// Runs `body` in one transaction on a pooled connection (`BEGIN` ... `COMMIT`, `ROLLBACK` when it throws).
    func withTransaction<T: Sendable>(
        file: StaticString = #fileID,
        line: UInt = #line,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws(StoreError) -> T {
        let (client, logger, inUse) = (client, logger, connectionsInUse)
        // A literal: SET takes no bind parameters.
        let writeBudget = PostgresQuery(unsafeSQL: "SET LOCAL statement_timeout = \(max(1, settings.statementBudget.writes.wholeMilliseconds))")
        do {
            return try await bounded {
                try await client.withConnection { connection in
                    try await Self.leased(inUse) {
                        try await connection.withTransaction(logger: logger) { connection in
                            _ = try await connection.query(writeBudget, logger: logger)
                            return try await body(connection)
                        }
                    }
                }
            }
        } catch {
            throw StoreError(postgres: error, location: "\(file):\(line)")
        }
    }

    /// Reads the schema on a pooled connection.
    package func checkHealth() async throws(StoreError) {
        let logger = logger
        try await withConnection { connection in
            _ = try await connection.query("SELECT count(*) FROM pg_catalog.pg_tables", logger: logger).collect()
        }
    }

    /// Runs `body` while a connection is leased, counted in `inUse`.
    private static func leased<T>(_ inUse: Meter, _ body: () async throws -> T) async throws -> T {
        inUse.increment()
        defer { inUse.decrement() }
        return try await body()
    }

    /// Runs `operation`, or throws `.unavailable(.timedOut)` once ``PostgresSettings/queryTimeout`` passes,
    /// without waiting for the operation any longer (a query to a host that vanished would wait for TCP): it is
    /// cancelled and ends in the background, a wait for a connection at once, a statement at `statement_timeout`,
    /// a connection nobody answers when the pool closes it.
    private func bounded<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withDeadline(settings.queryTimeout, throwing: StoreError.unavailable(.timedOut), operation)
    }
}
