import Foundation
import Hummingbird
import Logging
import Microblog

/// Reads the configuration, builds the application and serves it until SIGTERM or SIGINT.
@main
struct MicroblogServer {
    static func main() async {
        let configuration: AppConfiguration
        do {
            configuration = try await AppConfiguration.fromEnvironment()
            try configuration.checkDebugAddress()
        } catch {
            FileHandle.standardError.write(Data("microblog: \(error)\n".utf8))
            exit(1)
        }
        let dependencies = AppDependencies.production(configuration: configuration)
        let logger = dependencies.logger
        do {
            if configuration.debug {
                logger.warning("Debug mode is ON: detailed error pages, no error mail. Never use it in production.")
            }
            let app = try await buildApplication(configuration: configuration, dependencies: dependencies)
            logger.info("Microblog listening on http://\(configuration.host):\(configuration.port)")
            try await app.runService()
        } catch {
            logger.critical("Microblog cannot start: \(error)")
            FileHandle.standardError.write(Data("microblog: cannot start: \(error)\n".utf8))
            exit(1)
        }
    }
}
