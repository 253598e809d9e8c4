import Logging
import CoreMetrics
import Prometheus

extension AppDependencies {
    /// The production wiring of logging and metrics: one ``LogSink`` (the log file and, unless in debug mode, error
    /// mail) run as a service beside the HTTP server, which stops first; swift-log bootstrapped once, to stderr and
    /// the sink; swift-metrics bootstrapped once with Prometheus, on the registry the metrics listener serves.
    /// Only the server's `main` calls this: tests build their loggers and registries themselves and never bootstrap.
    public static func production(configuration: AppConfiguration) -> AppDependencies {
        let prometheus = PrometheusCollectorRegistry()
        let factory = PrometheusMetricsFactory.microblog(registry: prometheus)
        MetricsSystem.bootstrap(factory)
        let sink = LogSink(
            configuration: configuration.log,
            mail: configuration.effectiveMail,
            metrics: LogSinkMetrics(factory: factory)
        )
        let level = configuration.log.level
        LoggingSystem.bootstrap { label in
            var handler = MultiplexLogHandler([StreamLogHandler.standardError(label: label), sink.makeHandler(label: label)])
            handler.logLevel = level
            return handler
        }
        return AppDependencies(logger: Logger(label: "microblog"), services: [sink], prometheus: prometheus)
    }
}
