/// Why a mail could not be delivered.
package enum SMTPError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The TCP connection could not be made (refused, unreachable, name not resolved).
    case connectionFailed(String)
    /// No answer within the timeout; `step` names the command waited on.
    case timedOut(step: String)
    /// The server closed the connection during `step`.
    case connectionClosed(step: String)
    /// A 4xx reply: try again later.
    case transientReply(step: String, code: Int, text: String)
    /// A 5xx reply (or another code the step cannot accept): retrying will not help.
    case permanentReply(step: String, code: Int, text: String)
    /// The server sent something that is not an SMTP reply.
    case malformedReply(String)
    /// TLS was required but the server does not offer STARTTLS.
    case startTLSUnavailable
    /// The TLS handshake failed, for example on an untrusted certificate or a wrong host name.
    case tlsFailed(String)
    /// Credentials are set but the server offers no AUTH mechanism this client knows (PLAIN, LOGIN).
    case authenticationUnavailable
    /// The server rejected the credentials.
    case authenticationFailed(code: Int, text: String)
    /// An address contains characters that would break the envelope or a header.
    case invalidAddress(String)
    /// Every recipient was refused.
    case allRecipientsRefused(code: Int, text: String)

    /// Whether retrying the same mail later cannot succeed without a change of configuration.
    package var isPermanent: Bool {
        switch self {
        case .connectionFailed, .timedOut, .connectionClosed, .transientReply:
            false
        case .permanentReply, .malformedReply, .startTLSUnavailable, .tlsFailed, .authenticationUnavailable,
            .authenticationFailed, .invalidAddress, .allRecipientsRefused:
            true
        }
    }

    package var description: String {
        switch self {
        case .connectionFailed(let reason): "cannot connect: \(reason)"
        case .timedOut(let step): "timed out waiting for the reply to \(step)"
        case .connectionClosed(let step): "connection closed during \(step)"
        case .transientReply(let step, let code, let text): "\(step) refused for now: \(code) \(text)"
        case .permanentReply(let step, let code, let text): "\(step) refused: \(code) \(text)"
        case .malformedReply(let line): "malformed reply: \(line)"
        case .startTLSUnavailable: "MAIL_USE_TLS is set but the server does not offer STARTTLS"
        case .tlsFailed(let reason): "TLS failed: \(reason)"
        case .authenticationUnavailable: "credentials are set but the server offers no AUTH PLAIN or LOGIN"
        case .authenticationFailed(let code, let text): "authentication rejected: \(code) \(text)"
        case .invalidAddress(let address): "invalid address: \(address)"
        case .allRecipientsRefused(let code, let text): "all recipients refused: \(code) \(text)"
        }
    }
}
