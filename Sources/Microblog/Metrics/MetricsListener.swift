import Hummingbird
import Logging
import NIOCore
import Prometheus

/// The Prometheus text of a registry on `GET /metrics`, served by a listener of its own (`METRICS_HOST`,
/// `METRICS_PORT`) so that the public site never shows it.
enum MetricsListener {
    static func application(registry: PrometheusCollectorRegistry, host: String, port: Int, logger: Logger) -> some ApplicationProtocol {
        let router = Router()
        router.get("/metrics") { _, _ in
            var bytes: [UInt8] = []
            registry.emit(into: &bytes)
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: bytes))
            )
        }
        return Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "Microblog metrics"),
            onServerRunning: { channel in
                logger.info("Metrics listening on http://\(host):\(channel.localAddress?.port ?? port)/metrics")
            },
            logger: logger
        )
    }
}

extension PrometheusMetricsFactory {
    /// A factory on `registry` whose metric and label names are valid in Prometheus (Hummingbird's
    /// `http.server.request.duration` becomes `http_server_request_duration`).
    package static func microblog(registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.nameAndLabelSanitizer = { name, labels in
            (sanitized(name), labels.map { (sanitized($0.0), $0.1) })
        }
        return factory
    }

    private static func sanitized(_ name: String) -> String {
        String(name.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == ":") ? $0 : "_" })
    }
}
