import Hummingbird
import Logging
import NIOCore

/// `GET /healthz` on the public listener: `200 ok` when the store answers a trivial read within the deadline
/// (`HEALTH_CHECK_TIMEOUT`, a second), else `503 unavailable`; plain text, for load balancers and probes.
struct HealthController: Sendable {
    let database: any Store
    let deadline: Duration

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("/healthz", use: health)
    }

    @Sendable func health(_ request: Request, context: AppRequestContext) async throws -> Response {
        let database = database
        do {
            try await withDeadline(deadline, throwing: StoreError.unavailable(.timedOut)) {
                try await database.checkHealth()
            }
            return Self.answer(.ok, "ok\n")
        } catch {
            context.logger.warning("Health check failed", metadata: ["error": "\(error)"])
            return Self.answer(.serviceUnavailable, "unavailable\n")
        }
    }

    private static func answer(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(
            status: status,
            headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: text))
        )
    }
}
