import Foundation
import PostgresNIO

/// Where and how to reach PostgreSQL: parsed from `DATABASE_URL=postgres://user[:password]@host[:port]/database`
/// (or `?host=/socket/directory` for a Unix socket), with the pool's size and the timeouts after which a request
/// gets a 503 instead of waiting. The password is a secret: `description` never prints it.
package struct PostgresSettings: Sendable, Equatable, CustomStringConvertible {
    package var host: String
    package var port: Int
    /// The directory of the server's Unix socket; when set, `host` is not used.
    package var socketDirectory: String?
    package var username: String
    package var password: String?
    package var database: String
    /// Connections per server instance (`DATABASE_POOL_SIZE`, 10).
    package var maxConnections: Int
    /// How long opening a connection may take (`DATABASE_CONNECT_TIMEOUT`, seconds, 5).
    package var connectTimeout: Duration
    /// How long one storage call (waiting for a connection included) may take before it is a 503
    /// (`DATABASE_QUERY_TIMEOUT`, seconds, 10); the migrating connection's `statement_timeout`.
    package var queryTimeout: Duration
    /// How long a statement waits for a lock another transaction holds before a 503 for load, not a fault
    /// (`DATABASE_BUSY_TIMEOUT`, seconds, 5, as SQLite's busy timeout); PostgreSQL's `lock_timeout`.
    package var lockTimeout: Duration
    /// How long one statement may run on the pool's connections (`statement_timeout`): the read budget, raised to the
    /// write budget inside a write transaction.
    package var statementBudget: StatementBudget

    package init(
        host: String = "127.0.0.1",
        port: Int = 5432,
        socketDirectory: String? = nil,
        username: String,
        password: String? = nil,
        database: String,
        maxConnections: Int = 10,
        connectTimeout: Duration = .seconds(5),
        queryTimeout: Duration = .seconds(10),
        lockTimeout: Duration = .seconds(5),
        statementBudget: StatementBudget = StatementBudget()
    ) {
        self.host = host
        self.port = port
        self.socketDirectory = socketDirectory
        self.username = username
        self.password = password
        self.database = database
        self.maxConnections = maxConnections
        self.connectTimeout = connectTimeout
        self.queryTimeout = queryTimeout
        self.lockTimeout = lockTimeout
        self.statementBudget = statementBudget
    }

    /// Parses a `postgres://` or `postgresql://` URL; nil for anything else (which means SQLite).
    package init?(url: String) {
        guard url.hasPrefix("postgres://") || url.hasPrefix("postgresql://"),
              let components = URLComponents(string: url)
        else { return nil }
        let query = Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        let username = components.user ?? "postgres"
        self.init(
            host: components.host.flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1",
            port: components.port ?? 5432,
            socketDirectory: query["host"].flatMap { $0.hasPrefix("/") ? $0 : nil },
            username: username,
            password: components.password,
            database: path.isEmpty ? username : path
        )
    }

    /// The socket file the server listens on in ``socketDirectory``, as libpq names it.
    var socketPath: String? {
        socketDirectory.map { "\($0)/.s.PGSQL.\(port)" }
    }

    package var description: String {
        let place = socketDirectory.map { "\($0) (socket)" } ?? "\(host):\(port)"
        return "postgres://\(username)\(password == nil ? "" : ":<redacted>")@\(place)/\(database)"
    }
}

/// A postgres-nio configuration that names where the server is: the pool's (`PostgresClient.Configuration`) and a
/// direct connection's (`PostgresConnection.Configuration`) take the same two forms.
protocol PostgresEndpointConfiguration {
    associatedtype TLS
    /// No TLS: the server is on this host (a Unix socket, loopback) or on a private network.
    static var withoutTLS: TLS { get }
    init(unixSocketPath: String, username: String, password: String?, database: String?)
    init(host: String, port: Int, username: String, password: String?, database: String?, tls: TLS)
}

extension PostgresClient.Configuration: PostgresEndpointConfiguration {
    static var withoutTLS: TLS { .disable }
}

extension PostgresConnection.Configuration: PostgresEndpointConfiguration {
    static var withoutTLS: TLS { .disable }
}

extension PostgresSettings {
    /// The server's address and credentials as `Configuration`: its Unix socket when the URL names a socket folder,
    /// else TCP to host and port.
    func endpoint<Configuration: PostgresEndpointConfiguration>(_: Configuration.Type) -> Configuration {
        if let socketPath {
            return Configuration(unixSocketPath: socketPath, username: username, password: password, database: database)
        }
        return Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: Configuration.withoutTLS
        )
    }
}
