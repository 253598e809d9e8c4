import ArgumentParser
import Foundation
import Hummingbird
import Logging
import Microblog

/// The `microblog` command: reads the configuration, builds the application and serves it until SIGTERM or SIGINT.
@main
struct MicroblogServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "microblog",
        abstract: "Serves the microblog.",
        discussion: """
            Settings come from the environment and an optional .env file in the working directory (SECRET_KEY, \
            DATABASE_URL, MAIL_SERVER, ADMINS, LOG_DIR, METRICS_PORT, ...: see docs/configuration.md). The options below win \
            over them. With nothing set, it serves ./app.db on http://127.0.0.1:8080.
            """,
        version: MicroblogVersion.current
    )

    @Option(name: .long, help: "The address to listen on (HOST; default 127.0.0.1).")
    var hostname: String?

    @Option(name: .shortAndLong, help: "The port to listen on; 0 lets the kernel choose (PORT; default 8080).")
    var port: Int?

    @Option(name: .long, help: "The lowest level logged: trace, debug, info, notice, warning, error or critical (LOG_LEVEL; default info).")
    var logLevel: String?

    func validate() throws {
        if let port, !(0...65535).contains(port) { throw ValidationError("--port must be between 0 and 65535") }
        if let logLevel, Logger.Level(rawValue: logLevel.lowercased()) == nil {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
    }

    func run() async throws {
        var configuration: AppConfiguration
        do {
            configuration = try await AppConfiguration.fromEnvironment()
            if let hostname { configuration.host = hostname }
            if let port { configuration.port = port }
            if let level = logLevel.flatMap({ Logger.Level(rawValue: $0.lowercased()) }) { configuration.log.level = level }
            try configuration.checkDebugAddress()
        } catch {
            FileHandle.standardError.write(Data("microblog: \(error)\n".utf8))
            throw ExitCode.failure
        }
        let dependencies = AppDependencies.production(configuration: configuration)
        let logger = dependencies.logger
        do {
            if configuration.debug {
                logger.warning("Debug mode is ON: detailed error pages, no error mail. Never use it in production.")
            }
            let app = try await buildApplication(configuration: configuration, dependencies: dependencies)
            try await serve(app, shutdownTimeout: configuration.shutdownTimeout, logger: logger)
        } catch {
            logger.critical("Microblog cannot start: \(error)")
            FileHandle.standardError.write(Data("microblog: cannot start: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }
}
