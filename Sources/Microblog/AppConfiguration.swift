import Configuration
import Foundation
import Logging
import NIOCore
import SystemPackage

/// The server's settings, read once at start from the environment and an optional `.env` file, with the
/// tutorial's names and defaults. Secrets (`SECRET_KEY`, `SECRET_KEY_FALLBACKS`, `MAIL_PASSWORD`) are never printed: `description`
/// masks them.
public struct AppConfiguration: Sendable, CustomStringConvertible {
    /// Keys the server signs with (remember-me tokens). At least 32 bytes.
    package var secretKey: String
    /// Earlier secret keys (`SECRET_KEY_FALLBACKS`, comma-separated): what they signed still verifies, nothing new is
    /// signed with them, so a key can be rotated without logging anybody out.
    package var secretKeyFallbacks: [String]
    /// The SQLite database file, used when ``postgres`` is nil (the embedded default).
    package var databasePath: String
    /// PostgreSQL, selected by `DATABASE_URL=postgres://...`: several server instances can share it.
    package var postgres: PostgresSettings?
    /// Detailed error pages, no error mail. Off by default.
    public var debug: Bool
    /// Allow debug mode on a non-loopback address (`MICROBLOG_DEBUG_ALLOW_REMOTE`).
    package var debugAllowRemote: Bool
    public var host: String
    public var port: Int
    /// bcrypt's cost factor (`BCRYPT_COST`, 12).
    package var bcryptCost: UInt8
    /// How long "Remember Me" keeps a user logged in (`REMEMBER_COOKIE_DAYS`, 14).
    package var rememberDuration: Duration
    /// How long a session lives without "Remember Me" (12 hours).
    package var sessionDuration: Duration
    /// Sessions one user keeps at most, the oldest going first (`SESSIONS_PER_USER`, 20).
    package var sessionsPerUser: Int
    /// How long a remember-me validator still signs in once it has been replaced (60 seconds): the same browser's
    /// requests already on their way. Past it, its use revokes the user's sessions.
    package var rememberRotationGrace: Duration
    /// Mark cookies `Secure` (`SESSION_COOKIE_SECURE`): set it when the site is served over HTTPS.
    package var secureCookies: Bool
    /// Posts per page on the home and profile pages (`POSTS_PER_PAGE`, 20).
    package var postsPerPage: Int
    /// How long a write waits for the database lock before a 503 (`DATABASE_BUSY_TIMEOUT`, seconds, 5).
    package var busyTimeout: Duration
    /// How long one read or write statement may run before a 503 (`DATABASE_READ_TIMEOUT` 1, `DATABASE_WRITE_TIMEOUT`
    /// 5, seconds).
    package var statementBudget: StatementBudget
    /// Connections, deadlines and header sizes (`MAX_CONNECTIONS`, `REQUEST_HEAD_TIMEOUT`, `REQUEST_BODY_TIMEOUT`).
    package var limits: ConnectionLimits
    /// The rotating log file (`LOG_DIR`, `LOG_MAX_BYTES`, `LOG_BACKUP_COUNT`).
    public var log: LogConfiguration
    /// Error mail to the admins (`MAIL_SERVER`, ...); nil when `MAIL_SERVER` is not set.
    package var mail: MailConfiguration?
    /// The port of the Prometheus listener (`METRICS_PORT`); nil (unset): no metrics listener.
    package var metricsPort: Int?
    /// The address of the Prometheus listener (`METRICS_HOST`, 127.0.0.1).
    package var metricsHost: String
    /// How long `GET /healthz` waits for the store's answer before it says 503 (`HEALTH_CHECK_TIMEOUT`, seconds, 1).
    package var healthCheckTimeout: Duration
    /// How long a graceful shutdown (SIGTERM, SIGINT) may take before what still runs is cancelled
    /// (`SHUTDOWN_TIMEOUT`, seconds, 10).
    public var shutdownTimeout: Duration
    /// Login attempts per account, client network and device, and registrations per client network
    /// (`LOGIN_ATTEMPTS_PER_ACCOUNT` 5, `LOGIN_ATTEMPTS_PER_CLIENT` 50, `LOGIN_ATTEMPTS_PER_DEVICE` 10 in 15 minutes;
    /// `REGISTRATIONS_PER_HOUR` 10).
    package var loginThrottle: LoginThrottle.Policy
    /// The reverse proxies whose forwarding headers are believed (`TRUSTED_PROXIES`; none).
    package var trustedProxies: TrustedProxies
    /// The site's public origin (`PUBLIC_URL`, e.g. `https://microblog.example`): what the same-origin check compares
    /// a browser's `Origin` with; nil: the origin each request was addressed to.
    package var publicURL: String?
    /// The host names the site answers to (`ALLOWED_HOSTS`); nil: the host of `PUBLIC_URL`, else the loopback names
    /// on a loopback `HOST`, else any.
    package var allowedHosts: AllowedHosts?

    /// Whether cookies are `Secure`: `SESSION_COOKIE_SECURE`, or a `PUBLIC_URL` on https.
    var effectiveSecureCookies: Bool {
        secureCookies || publicURL.flatMap(PublicOrigin.init(url:))?.scheme == "https"
    }

    /// The host names in force (see ``allowedHosts``).
    var effectiveAllowedHosts: AllowedHosts {
        if let allowedHosts { return allowedHosts }
        if let host = publicURL.flatMap(PublicOrigin.init(url:))?.host { return AllowedHosts(patterns: [host]) }
        let loopback = host == "localhost" || host == "::1" || host.hasPrefix("127.")
        return loopback ? AllowedHosts(patterns: AllowedHosts.loopback.patterns + [host]) : .any
    }

    /// Password checks and hashes running or waiting at once, past which a request gets a 503 page
    /// (`PASSWORD_WORK_LOGINS`, `PASSWORD_WORK_REGISTRATIONS`; 4 and 1 per core).
    package var passwordWork: PasswordWork.Budget

    /// The mail configuration in force: none in debug mode, as in the tutorial.
    package var effectiveMail: MailConfiguration? { debug ? nil : mail }

    package init(
        secretKey: String,
        secretKeyFallbacks: [String] = [],
        databasePath: String = "app.db",
        postgres: PostgresSettings? = nil,
        debug: Bool = false,
        debugAllowRemote: Bool = false,
        host: String = "127.0.0.1",
        port: Int = 8080,
        bcryptCost: UInt8 = 12,
        rememberDuration: Duration = .seconds(14 * 24 * 3600),
        sessionDuration: Duration = .seconds(12 * 3600),
        sessionsPerUser: Int = 20,
        rememberRotationGrace: Duration = .seconds(60),
        secureCookies: Bool = false,
        postsPerPage: Int = 20,
        busyTimeout: Duration = .seconds(5),
        statementBudget: StatementBudget = StatementBudget(),
        limits: ConnectionLimits = ConnectionLimits(),
        log: LogConfiguration = LogConfiguration(),
        mail: MailConfiguration? = nil,
        metricsPort: Int? = nil,
        metricsHost: String = "127.0.0.1",
        healthCheckTimeout: Duration = .seconds(1),
        shutdownTimeout: Duration = .seconds(10),
        loginThrottle: LoginThrottle.Policy = LoginThrottle.Policy(),
        passwordWork: PasswordWork.Budget = .default(threads: System.coreCount),
        trustedProxies: TrustedProxies = .none,
        publicURL: String? = nil,
        allowedHosts: AllowedHosts? = nil
    ) {
        self.trustedProxies = trustedProxies
        self.publicURL = publicURL
        self.allowedHosts = allowedHosts
        self.passwordWork = passwordWork
        self.loginThrottle = loginThrottle
        self.healthCheckTimeout = healthCheckTimeout
        self.shutdownTimeout = shutdownTimeout
        self.log = log
        self.mail = mail
        self.metricsPort = metricsPort
        self.metricsHost = metricsHost
        self.secretKey = secretKey
        self.secretKeyFallbacks = secretKeyFallbacks
        self.databasePath = databasePath
        self.postgres = postgres
        self.debug = debug
        self.debugAllowRemote = debugAllowRemote
        self.host = host
        self.port = port
        self.bcryptCost = bcryptCost
        self.rememberDuration = rememberDuration
        self.sessionDuration = sessionDuration
        self.sessionsPerUser = sessionsPerUser
        self.rememberRotationGrace = rememberRotationGrace
        self.secureCookies = secureCookies
        self.postsPerPage = postsPerPage
        self.busyTimeout = busyTimeout
        self.statementBudget = statementBudget
        self.limits = limits
    }

    public var description: String {
        "AppConfiguration(database: \(postgres.map(String.init(describing:)) ?? databasePath), host: \(host), port: \(port), debug: \(debug), "
            + "log: \(log.filePath), mail: \(mail.map(String.init(describing:)) ?? "off"), secretKey: <redacted>)"
    }
}

/// Why the configuration cannot be used; each message tells the operator what to change.
public enum ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    case secretKeyTooShort
    case secretKeyWellKnown
    case secretKeyFile(String)
    case invalidValue(name: String, value: String)
    case debugOnPublicAddress(String)

    public var description: String {
        switch self {
        case .secretKeyTooShort:
            "SECRET_KEY is shorter than 32 bytes: use a long random value (for example `openssl rand -hex 32`), or unset it to let the server generate one."
        case .secretKeyWellKnown:
            "SECRET_KEY is a published example value: use a long random value (for example `openssl rand -hex 32`), or unset it to let the server generate one."
        case .secretKeyFile(let reason):
            "cannot read or create the generated secret key file: \(reason)"
        case .invalidValue(let name, let value):
            "\(name)=\(value) is not a valid value"
        case .debugOnPublicAddress(let host):
            "refusing to run in debug mode on \(host), which is not a loopback address; set MICROBLOG_DEBUG_ALLOW_REMOTE=1 to force it"
        }
    }
}

extension AppConfiguration {
    /// Reads the configuration from the process environment and `.env` in the working directory (the environment
    /// wins), generating and keeping a secret key in `.secret_key` when `SECRET_KEY` is not set.
    public static func fromEnvironment(workingDirectory: String = FileManager.default.currentDirectoryPath) async throws -> AppConfiguration {
        let secrets: SecretsSpecifier<String, String> = .specific(["SECRET_KEY", "SECRET_KEY_FALLBACKS", "MAIL_PASSWORD"])
        let reader = ConfigReader(providers: [
            EnvironmentVariablesProvider(secretsSpecifier: secrets),
            try await EnvironmentVariablesProvider(
                environmentFilePath: .init(workingDirectory + "/.env"),
                allowMissing: true,
                secretsSpecifier: secrets
            ),
        ])
        return try AppConfiguration(reader: reader, workingDirectory: workingDirectory)
    }

    /// Reads the configuration from `reader` (keys are the environment variable names).
    package init(reader: ConfigReader, workingDirectory: String) throws(ConfigurationError) {
        func int(_ name: String, _ defaultValue: Int, _ range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
            guard let text = reader.string(forKey: .init(name)) else { return defaultValue }
            guard let value = Int(text.trimmingCharacters(in: .whitespaces)), range.contains(value) else {
                throw .invalidValue(name: name, value: text)
            }
            return value
        }
        func bool(_ name: String) -> Bool {
            guard let text = reader.string(forKey: .init(name))?.lowercased() else { return false }
            return ["1", "true", "yes", "on", "y"].contains(text.trimmingCharacters(in: .whitespaces))
        }
        let secretKey: String
        if let given = reader.string(forKey: "SECRET_KEY", isSecret: true), !given.isEmpty {
            secretKey = try SecretKey.validate(given)
        } else {
            secretKey = try SecretKey.loadOrCreate(atPath: workingDirectory + "/.secret_key")
        }
        var mail: MailConfiguration?
        if let server = reader.string(forKey: "MAIL_SERVER"), !server.isEmpty {
            mail = MailConfiguration(
                server: server,
                port: try int("MAIL_PORT", 25, 1...65535),
                useTLS: bool("MAIL_USE_TLS"),
                username: reader.string(forKey: "MAIL_USERNAME"),
                password: reader.string(forKey: "MAIL_PASSWORD", isSecret: true),
                admins: (reader.string(forKey: "ADMINS") ?? "").split(separator: ",")
                    .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty },
                trustedCAFile: reader.string(forKey: "MAIL_CA_FILE")
            )
        }
        var level = Logger.Level.info
        if let text = reader.string(forKey: "LOG_LEVEL") {
            guard let given = Logger.Level(rawValue: text.trimmingCharacters(in: .whitespaces).lowercased()) else {
                throw .invalidValue(name: "LOG_LEVEL", value: text)
            }
            level = given
        }
        let log = LogConfiguration(
            directory: reader.string(forKey: "LOG_DIR") ?? "logs",
            maxBytes: try int("LOG_MAX_BYTES", 10240, 0...Int(Int32.max)),
            backupCount: try int("LOG_BACKUP_COUNT", 10, 0...1000),
            level: level
        )
        let databaseURL = reader.string(forKey: "DATABASE_URL", isSecret: true) ?? "app.db"
        var databasePath = databaseURL
        if databasePath.hasPrefix("sqlite:///") {
            databasePath.removeFirst("sqlite:///".count)
        }
        let busyTimeout = Duration.seconds(try int("DATABASE_BUSY_TIMEOUT", 5, 0...600))
        let statementBudget = StatementBudget(
            reads: .seconds(try int("DATABASE_READ_TIMEOUT", 1, 1...3600)),
            writes: .seconds(try int("DATABASE_WRITE_TIMEOUT", 5, 1...3600))
        )
        var postgres = PostgresSettings(url: databaseURL)
        if postgres != nil {
            databasePath = ""
            postgres?.maxConnections = try int("DATABASE_POOL_SIZE", 10, 1...1000)
            postgres?.connectTimeout = .seconds(try int("DATABASE_CONNECT_TIMEOUT", 5, 1...600))
            postgres?.queryTimeout = .seconds(try int("DATABASE_QUERY_TIMEOUT", 10, 1...3600))
            postgres?.lockTimeout = busyTimeout
            postgres?.statementBudget = statementBudget
        }
        var fallbacks: [String] = []
        for given in (reader.string(forKey: "SECRET_KEY_FALLBACKS", isSecret: true) ?? "").split(separator: ",") {
            let trimmed = given.trimmingCharacters(in: .whitespaces)
            if !trimmed.isEmpty { fallbacks.append(try SecretKey.validate(trimmed)) }
        }
        self.init(
            secretKey: secretKey,
            secretKeyFallbacks: fallbacks,
            databasePath: databasePath,
            postgres: postgres,
            debug: bool("MICROBLOG_DEBUG"),
            debugAllowRemote: bool("MICROBLOG_DEBUG_ALLOW_REMOTE"),
            host: reader.string(forKey: "HOST") ?? "127.0.0.1",
            port: try int("PORT", 8080, 0...65535),
            bcryptCost: UInt8(try int("BCRYPT_COST", 12, 4...31)),
            rememberDuration: .seconds(try int("REMEMBER_COOKIE_DAYS", 14, 1...365) * 24 * 3600),
            sessionsPerUser: try int("SESSIONS_PER_USER", 20, 1...10_000),
            secureCookies: bool("SESSION_COOKIE_SECURE"),
            postsPerPage: try int("POSTS_PER_PAGE", 20, 1...100),
            busyTimeout: busyTimeout,
            statementBudget: statementBudget,
            limits: ConnectionLimits(
                maxConnections: try int("MAX_CONNECTIONS", 1024, 1...1_000_000),
                headTimeout: .seconds(try int("REQUEST_HEAD_TIMEOUT", 15, 1...3600)),
                bodyTimeout: .seconds(try int("REQUEST_BODY_TIMEOUT", 30, 1...3600))
            ),
            log: log,
            mail: mail,
            metricsPort: reader.string(forKey: "METRICS_PORT") == nil ? nil : try int("METRICS_PORT", 0, 0...65535),
            metricsHost: reader.string(forKey: "METRICS_HOST") ?? "127.0.0.1",
            healthCheckTimeout: .seconds(try int("HEALTH_CHECK_TIMEOUT", 1, 1...60)),
            shutdownTimeout: .seconds(try int("SHUTDOWN_TIMEOUT", 10, 1...3600)),
            loginThrottle: LoginThrottle.Policy(
                allowedFailures: try int("LOGIN_ATTEMPTS_PER_ACCOUNT", 5, 1...1_000_000),
                allowedClientFailures: try int("LOGIN_ATTEMPTS_PER_CLIENT", 50, 1...1_000_000),
                allowedDeviceFailures: try int("LOGIN_ATTEMPTS_PER_DEVICE", 10, 1...1_000_000),
                allowedRegistrations: try int("REGISTRATIONS_PER_HOUR", 10, 1...1_000_000)
            ),
            passwordWork: try Self.passwordWork(int),
            trustedProxies: try Self.trustedProxies(reader.string(forKey: "TRUSTED_PROXIES")),
            publicURL: try Self.publicURL(reader.string(forKey: "PUBLIC_URL")),
            allowedHosts: reader.string(forKey: "ALLOWED_HOSTS").map { AllowedHosts(patterns: $0.split(separator: ",").map(String.init)) }
        )
    }

    private static func passwordWork(
        _ int: (String, Int, ClosedRange<Int>) throws(ConfigurationError) -> Int
    ) throws(ConfigurationError) -> PasswordWork.Budget {
        let defaults = PasswordWork.Budget.default(threads: System.coreCount)
        return PasswordWork.Budget(
            logins: try int("PASSWORD_WORK_LOGINS", defaults.logins, 1...1_000_000),
            registrations: try int("PASSWORD_WORK_REGISTRATIONS", defaults.registrations, 1...1_000_000)
        )
    }

    private static func trustedProxies(_ text: String?) throws(ConfigurationError) -> TrustedProxies {
        guard let text else { return .none }
        guard let proxies = TrustedProxies(parsing: text) else { throw .invalidValue(name: "TRUSTED_PROXIES", value: text) }
        return proxies
    }

    private static func publicURL(_ text: String?) throws(ConfigurationError) -> String? {
        guard let text, !text.isEmpty else { return nil }
        guard PublicOrigin(url: text) != nil else { throw .invalidValue(name: "PUBLIC_URL", value: text) }
        return text
    }

    /// Refuses debug mode on an address other than loopback unless forced.
    public func checkDebugAddress() throws(ConfigurationError) {
        guard debug, !debugAllowRemote else { return }
        let loopback = host == "localhost" || host == "::1" || host.hasPrefix("127.")
        if !loopback { throw .debugOnPublicAddress(host) }
    }
}

/// Checks a configured secret key, or generates one and keeps it in an owner-only file.
enum SecretKey {
    static let minimumBytes = 32
    /// Values published in tutorials and templates.
    static let wellKnown: Set<String> = ["you-will-never-guess", "secret", "changeme", "dev", "development"]

    static func validate(_ key: String) throws(ConfigurationError) -> String {
        if wellKnown.contains(key.lowercased()) { throw .secretKeyWellKnown }
        if key.utf8.count < minimumBytes { throw .secretKeyTooShort }
        return key
    }

    static func loadOrCreate(atPath path: String) throws(ConfigurationError) -> String {
        if let existing = try? String(contentsOfFile: path, encoding: .utf8) {
            return try validate(existing.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        let key = RandomToken.make(byteCount: 48)
        // O_EXCL: if two servers start at once, one creates the file and the other reads it.
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        if fd < 0 {
            if errno == EEXIST, let existing = try? String(contentsOfFile: path, encoding: .utf8) {
                return try validate(existing.trimmingCharacters(in: .whitespacesAndNewlines))
            }
            throw .secretKeyFile("\(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let bytes = Array((key + "\n").utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else { throw .secretKeyFile("\(path): short write") }
        return key
    }
}
