import Hummingbird
import Logging
import NIOCore

/// `GET /healthz` on the public listener: `200 ok` when the store answers a trivial read within a second, else
/// `503 unavailable`; plain text, for load balancers and probes.
struct HealthController: Sendable {
    let database: any Store
    static let deadline: Duration = .seconds(1)

    func addRoutes(to router: Router<AppRequestContext>, routes: inout RouteTable) {
        router.get("/healthz", use: health)
        routes.add("/healthz", methods: [.get])
    }

    @Sendable func health(_ request: Request, context: AppRequestContext) async throws -> Response {
        let database = database
        do {
            try await withDeadline(Self.deadline, throwing: StoreError.unavailable(.timedOut)) {
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
