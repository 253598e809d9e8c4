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
        } catch {
            FileHandle.standardError.write(Data("microblog: \(error)\n".utf8))
            exit(1)
        }
        var logger = Logger(label: "microblog")
        logger.logLevel = .info
        do {
            if configuration.debug {
                logger.warning("Debug mode is ON: detailed error pages, no error mail. Never use it in production.")
            }
            let app = try await buildApplication(configuration: configuration, dependencies: AppDependencies(logger: logger))
            logger.info("Microblog listening on http://\(configuration.host):\(configuration.port)")
            try await app.runService()
        } catch {
            logger.critical("Microblog cannot start: \(error)")
            exit(1)
        }
    }
}
