import Hummingbird

/// Errors a controller throws to answer with a client-error or unavailable page. Each maps to one status and one
/// message a visitor can act on; none carries internal detail.
package enum PageError: Error, Sendable, Equatable {
    case notFound
    case badRequest
    case formExpired
    case forbidden
    case methodNotAllowed(allowed: [HTTPRequest.Method])
    case payloadTooLarge
    /// The request body did not arrive completely (cut off at its deadline, or the client went away).
    case requestTimeout
    case tooManyRequests(retryAfterSeconds: Int)
    case serviceUnavailable(retryAfterSeconds: Int)

    var status: HTTPResponse.Status {
        switch self {
        case .notFound: .notFound
        case .badRequest, .formExpired: .badRequest
        case .forbidden: .forbidden
        case .methodNotAllowed: .methodNotAllowed
        case .payloadTooLarge: .contentTooLarge
        case .requestTimeout: .requestTimeout
        case .tooManyRequests: .tooManyRequests
        case .serviceUnavailable: .serviceUnavailable
        }
    }

    /// Heading and message of the page.
    var text: (heading: String, message: String) {
        switch self {
        case .notFound: ("File Not Found", "")
        case .badRequest: ("Bad Request", "The request could not be understood.")
        case .formExpired: ("Bad Request", "The form has expired, please try again.")
        case .forbidden: ("Forbidden", "You are not allowed to do that.")
        case .methodNotAllowed: ("Method Not Allowed", "This page does not accept that kind of request.")
        case .payloadTooLarge: ("Request Too Large", "What you sent is too large.")
        case .requestTimeout: ("Request Timeout", "What you sent did not arrive in time. Please try again.")
        case .tooManyRequests: ("Too Many Requests", "Too many attempts. Please wait a moment and try again.")
        case .serviceUnavailable: ("Service Unavailable", "The site is busy. Please try again in a moment.")
        }
    }

    /// The same kind of page for a status Hummingbird or NIO chose.
    init?(status: HTTPResponse.Status) {
        switch status.code {
        case 404: self = .notFound
        case 408: self = .requestTimeout
        case 413: self = .payloadTooLarge
        case 429: self = .tooManyRequests(retryAfterSeconds: 5)
        case 503: self = .serviceUnavailable(retryAfterSeconds: 5)
        case 405: self = .methodNotAllowed(allowed: [])
        case 403: self = .forbidden
        case 400..<500: self = .badRequest
        default: return nil
        }
    }
}
