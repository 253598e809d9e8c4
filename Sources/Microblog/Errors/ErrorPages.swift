import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Where every error that reaches the top of a request ends up: it picks the status, logs once with context,
/// and renders the page inside the site layout.
///
/// Promises: a 500 page says "An unexpected error has occurred" and a short reference, and nothing of the
/// error (no SQL, table names, paths or messages); the reference and the full description go to the log at
/// ERROR. A client's mistake (a 4xx) is logged at DEBUG and counted: ``ClientErrorSummary`` writes the counts once a
/// minute, so a scanner cannot rotate the records that matter out of the log. In debug mode a 500 shows a
/// detailed page instead.
package actor ErrorPages {
    private let debug: Bool
    /// Client errors answered since the counts were last taken, by status code.
    private var clientErrors: [Int: Int] = [:]
    /// Client mistakes answered without an error page of their own (an invalid remember-me cookie), by kind.
    private var clientMistakes: [ClientMistake: Int] = [:]
    private let metrics: AppMetrics

    init(debug: Bool, metrics: AppMetrics) {
        self.debug = debug
        self.metrics = metrics
    }

    /// The client errors answered since the last call, by status code, and the client mistakes, by kind; the counts
    /// start again from zero.
    func takeClientErrorCounts() -> (statuses: [Int: Int], mistakes: [ClientMistake: Int]) {
        defer {
            clientErrors = [:]
            clientMistakes = [:]
        }
        return (clientErrors, clientMistakes)
    }

    /// Counts a client mistake for the summary line, instead of a log line of its own.
    func count(_ mistake: ClientMistake) {
        clientMistakes[mistake, default: 0] += 1
    }

    /// The response for `error`, thrown while answering `request`.
    func response(for error: any Error, request: Request, context: AppRequestContext, withLayout: Bool) -> Response {
        switch classify(error) {
        case .client(let pageError):
            let unavailable = Self.unavailability(error)
            metrics.errorPage(status: pageError.status.code, unavailable: unavailable)
            if let reason = unavailable, reason != .busy {
                // Not the client's fault, and not a bug either: the operator must act (disk, permissions, file); a
                // busy database is only load.
                context.logger.error(
                    "Database unavailable on \(request.method) \(request.uri.path): \(StoreError.unavailable(reason))",
                    metadata: ["method": .string(request.method.rawValue), "path": .string(request.uri.path)]
                )
            } else {
                // A client's mistake (4xx), or load (a 503 for a busy database or shed password work): counted for the
                // summary line, so a scan or a flood cannot rotate the records that matter out of the log.
                clientErrors[pageError.status.code, default: 0] += 1
                context.logger.debug(
                    "\(pageError.status.code) \(request.method) \(request.uri.path)",
                    metadata: ["error": "\(pageError)"]
                )
            }
            return clientErrorPage(pageError, context: context, withLayout: withLayout)
        case .fault:
            metrics.errorPage(status: 500)
            let reference = Self.makeReference()
            context.logger.error(
                "Exception on \(request.method) \(request.uri.path)",
                metadata: [
                    "reference": .string(reference),
                    "method": .string(request.method.rawValue),
                    "path": .string(request.uri.path),
                    "user_id": .string(context.currentUser?.id.map(String.init) ?? "anonymous"),
                    "error": .string(ErrorDescription.full(error)),
                ]
            )
            if debug {
                return debugPage(error, reference: reference, request: request, context: context)
            }
            let model = ServerErrorPage(layout: layout(context, withLayout: withLayout, title: "Error"), correlationID: reference)
            return .page(model, status: .internalServerError)
        }
    }

    private enum Classification {
        case client(PageError)
        case fault
    }

    private func classify(_ error: any Error) -> Classification {
        var pageError: PageError?
        switch error {
        case let error as PageError:
            pageError = error
        case let error as StoreError:
            pageError = Self.pageError(for: error)
        case let error as RegistryError:
            if case .store(let store) = error { pageError = Self.pageError(for: store) }
        case let error as any HTTPResponseError:
            pageError = PageError(status: error.status)
        default:
            break
        }
        guard let pageError else { return .fault }
        return .client(pageError)
    }

    /// Why the store could not serve, when that is what `error` says.
    private static func unavailability(_ error: any Error) -> StoreError.Unavailability? {
        var store = error as? StoreError
        if case .store(let inner) = error as? RegistryError { store = inner }
        guard case .unavailable(let reason) = store else { return nil }
        return reason
    }

    private static func pageError(for error: StoreError) -> PageError? {
        if case .unavailable = error { return .serviceUnavailable(retryAfterSeconds: 5) }
        return nil
    }

    private func clientErrorPage(_ error: PageError, context: AppRequestContext, withLayout: Bool) -> Response {
        let layout = layout(context, withLayout: withLayout, title: error.text.heading)
        var response: Response
        if error == .notFound {
            response = .page(NotFoundPage(layout: layout), status: .notFound)
        } else {
            let model = StatusPage(layout: layout, heading: error.text.heading, message: error.text.message)
            response = .page(model, status: error.status)
        }
        switch error {
        case .methodNotAllowed(let allowed):
            response.headers[.allow] = allowed.map(\.rawValue).joined(separator: ", ")
        case .tooManyRequests(let seconds), .serviceUnavailable(let seconds):
            response.headers[.retryAfter] = String(seconds)
        case .payloadTooLarge:
            // The rest of the body is not read: the connection closes after this answer (``CloseAfterResponseHandler``).
            response.headers[.connection] = "close"
        default:
            break
        }
        return response
    }

    private func debugPage(_ error: any Error, reference: String, request: Request, context: AppRequestContext) -> Response {
        let model = DebugPage(
            layout: layout(context, withLayout: true, title: "Debug"),
            errorType: String(reflecting: type(of: error)),
            message: String(describing: error),
            chain: ErrorDescription.chain(error),
            location: (error as? any LocatedError)?.location.nonEmpty,
            method: request.method.rawValue,
            path: request.uri.description,
            headers: request.headers.map { field in
                DebugPage.Header(name: field.name.rawName, value: Self.maskedHeader(field))
            },
            correlationID: reference
        )
        return .page(model, status: .internalServerError)
    }

    private static func maskedHeader(_ field: HTTPField) -> String {
        switch field.name {
        case .cookie, .setCookie, .authorization, .proxyAuthorization: "<masked>"
        default: field.value
        }
    }

    private func layout(_ context: AppRequestContext, withLayout: Bool, title: String) -> LayoutModel {
        withLayout ? LayoutModel(title: title, context: context) : .bare
    }

    /// A short random reference that ties a 500 page to its log record.
    static func makeReference() -> String {
        String(UInt32.random(in: 0...UInt32.max), radix: 16, uppercase: false)
            .leftPadded(to: 8)
    }
}

/// An error that knows where it was raised, for the debug page.
package protocol LocatedError: Error {
    var location: String { get }
}

/// An error that may wrap another, for the log and the debug page's chain.
package protocol ChainedError: Error {
    /// The error this one wraps, if it wraps one.
    var underlyingError: (any Error)? { get }
}

/// How an error is described in the log and on the debug page.
enum ErrorDescription {
    static func full(_ error: any Error) -> String {
        chain(error).joined(separator: " <- ")
    }

    static func chain(_ error: any Error) -> [String] {
        var links: [String] = []
        var current: (any Error)? = error
        while let error = current, links.count < 16 {
            links.append("\(String(reflecting: type(of: error))): \(String(describing: error))")
            current = (error as? any ChainedError)?.underlyingError ?? nil
        }
        return links
    }
}

extension String {
    fileprivate var nonEmpty: String? { isEmpty ? nil : self }

    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}

/// Hands every error thrown below it to ``ErrorPages``. Placed twice: inside, below the current-user middleware,
/// to render pages in the layout; outside, around everything, with static pages for errors of the session and
/// user lookups themselves.
struct ErrorPagesMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let pages: ErrorPages
    let withLayout: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return await pages.response(for: error, request: request, context: context, withLayout: withLayout)
        }
    }
}
