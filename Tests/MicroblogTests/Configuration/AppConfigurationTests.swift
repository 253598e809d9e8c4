import Configuration
import Foundation
import Testing
@testable import Microblog

@Suite("Configuration from the environment and .env")
struct AppConfigurationTests {
    private func reader(_ values: [String: String]) -> ConfigReader {
        ConfigReader(provider: EnvironmentVariablesProvider(environmentVariables: values))
    }

    private func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("config-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test("With nothing set: the tutorial's defaults and a generated key kept in an owner-only file")
    func defaults() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configuration = try AppConfiguration(reader: reader([:]), workingDirectory: directory)
        #expect(configuration.databasePath == "app.db")
        #expect(configuration.host == "127.0.0.1" && configuration.port == 8080)
        #expect(configuration.debug == false)
        #expect(configuration.secretKey.utf8.count >= 32)
        let attributes = try FileManager.default.attributesOfItem(atPath: directory + "/.secret_key")
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let again = try AppConfiguration(reader: reader([:]), workingDirectory: directory)
        #expect(again.secretKey == configuration.secretKey, "the key survives restarts")
        #expect(!configuration.description.contains(configuration.secretKey))
    }

    @Test("A short or well-known SECRET_KEY is refused with a clear message")
    func secretKeyRules() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(throws: ConfigurationError.secretKeyWellKnown) {
            try AppConfiguration(reader: reader(["SECRET_KEY": "you-will-never-guess"]), workingDirectory: directory)
        }
        #expect(throws: ConfigurationError.secretKeyTooShort) {
            try AppConfiguration(reader: reader(["SECRET_KEY": "short"]), workingDirectory: directory)
        }
        #expect(ConfigurationError.secretKeyTooShort.description.contains("32 bytes"))
        let key = String(repeating: "a1", count: 20)
        let configuration = try AppConfiguration(reader: reader(["SECRET_KEY": key]), workingDirectory: directory)
        #expect(configuration.secretKey == key)
    }

    @Test("Values are read with the tutorial's names; bad numbers are refused")
    func values() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configuration = try AppConfiguration(reader: reader([
            "DATABASE_URL": "sqlite:////tmp/x.db", "MICROBLOG_DEBUG": "1", "PORT": "9000", "HOST": "0.0.0.0",
            "POSTS_PER_PAGE": "7", "SESSION_COOKIE_SECURE": "true",
        ]), workingDirectory: directory)
        #expect(configuration.databasePath == "/tmp/x.db")
        #expect(configuration.debug)
        #expect(configuration.port == 9000 && configuration.host == "0.0.0.0")
        #expect(configuration.postsPerPage == 7 && configuration.secureCookies)
        #expect(throws: ConfigurationError.invalidValue(name: "PORT", value: "eighty")) {
            try AppConfiguration(reader: reader(["PORT": "eighty"]), workingDirectory: directory)
        }
    }

    @Test("DATABASE_URL=postgres://... selects PostgreSQL with its pool settings; anything else is SQLite")
    func postgresURL() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configuration = try AppConfiguration(reader: reader([
            "DATABASE_URL": "postgres://blog:s3cret@db.internal:5433/microblog", "DATABASE_POOL_SIZE": "4",
            "DATABASE_QUERY_TIMEOUT": "3",
        ]), workingDirectory: directory)
        let postgres = try #require(configuration.postgres)
        #expect(postgres.host == "db.internal" && postgres.port == 5433 && postgres.database == "microblog")
        #expect(postgres.username == "blog" && postgres.password == "s3cret")
        #expect(postgres.maxConnections == 4 && postgres.queryTimeout == .seconds(3))
        #expect(!configuration.description.contains("s3cret"), "the password is never printed")

        let socket = try #require(PostgresSettings(url: "postgresql://blog@/microblog?host=/run/postgresql"))
        #expect(socket.socketPath == "/run/postgresql/.s.PGSQL.5432" && socket.database == "microblog")

        for sqlite in ["sqlite:////tmp/x.db", "app.db", "/var/lib/microblog.db"] {
            let configuration = try AppConfiguration(reader: reader(["DATABASE_URL": sqlite]), workingDirectory: directory)
            #expect(configuration.postgres == nil, "\(sqlite)")
        }
    }

    @Test("A .env file beside the working directory is read; the environment wins")
    func dotEnv() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "MICROBLOG_DEBUG=1\nPOSTS_PER_PAGE=9\n".write(toFile: directory + "/.env", atomically: true, encoding: .utf8)
        let configuration = try await AppConfiguration.fromEnvironment(workingDirectory: directory)
        #expect(configuration.debug)
        #expect(configuration.postsPerPage == 9)
    }
}
