import Logging

extension AppDependencies {
    /// The production wiring of logging: one ``LogSink`` (the log file and, unless in debug mode, error mail) run
    /// as a service beside the HTTP server, which stops first; and swift-log bootstrapped once, to stderr and the
    /// sink. Only the server's `main` calls this: tests build their loggers themselves and never bootstrap.
    public static func production(configuration: AppConfiguration) -> AppDependencies {
        let sink = LogSink(configuration: configuration.log, mail: configuration.effectiveMail)
        let level = configuration.log.level
        LoggingSystem.bootstrap { label in
            var handler = MultiplexLogHandler([StreamLogHandler.standardError(label: label), sink.makeHandler(label: label)])
            handler.logLevel = level
            return handler
        }
        return AppDependencies(logger: Logger(label: "microblog"), services: [sink])
    }
}
