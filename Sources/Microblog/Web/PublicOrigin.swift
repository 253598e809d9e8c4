import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// The origin the site is reached at, as a browser sees it: scheme, host and port.
struct PublicOrigin: Sendable, Equatable {
    var scheme: String
    var host: String
    var port: Int

    /// `https://example.com`, `http://127.0.0.1:8080`; nil for anything that is not an http(s) origin.
    init?(url text: String) {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty
        else { return nil }
        self.init(scheme: scheme, host: host, port: components.port)
    }

    /// The origin of a request that reached the site with `authority` (`host[:port]`, `[v6]:port`, a `Host` value)
    /// over `scheme`. Read by hand, not through `URLComponents`: every request's `Host` passes here.
    init?(scheme: String, authority: String) {
        var host = Substring(authority)
        var port: Int?
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return nil }
            let rest = host[host.index(after: close)...]
            host = host[host.index(after: host.startIndex)..<close]
            if !rest.isEmpty {
                guard rest.hasPrefix(":"), let given = Int(rest.dropFirst()), (0...65535).contains(given) else { return nil }
                port = given
            }
        } else if let colon = host.lastIndex(of: ":") {
            guard let given = Int(host[host.index(after: colon)...]), (0...65535).contains(given) else { return nil }
            port = given
            host = host[..<colon]
        }
        guard !host.isEmpty, host.utf8.allSatisfy(Self.isHostByte) else { return nil }
        self.init(scheme: scheme, host: String(host), port: port)
    }

    init(scheme: String, host: String, port: Int?) {
        self.scheme = scheme
        // `[::1]` and `::1` are one host, however a parser spelled it.
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        self.host = bare.lowercased()
        self.port = port ?? (scheme == "https" ? 443 : 80)
    }

    /// A byte a host name or an IP address literal may hold.
    private static func isHostByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: ":"), UInt8(ascii: "%"):
            true
        default:
            false
        }
    }
}

/// Who sent a request, and which origin it was sent to, as far as the site can know.
///
/// The TCP peer is the client unless it is a trusted proxy (``TrustedProxies``); then the client is the rightmost
/// address of the proxies' chain (`Forwarded: for=`, or `X-Forwarded-For`) that is not a trusted proxy itself, and the
/// scheme and host are the ones the proxy received (`Forwarded: proto= host=`, or `X-Forwarded-Proto` and
/// `X-Forwarded-Host`, else the `Host` it passed on). Without a trusted proxy the site's own listener is plain HTTP,
/// reached at the request's `Host`.
struct ClientOrigin: Sendable, Equatable {
    /// The client's address: the peer's, or the one a trusted proxy vouches for.
    var clientAddress: String?
    /// The origin the browser addressed; nil when the request names no host.
    var asked: PublicOrigin?
    /// Whether `asked` names the host the browser sent: a direct request's `Host`, or the host a trusted proxy
    /// forwarded. A trusted proxy that forwards none passes a `Host` of its own choosing (nginx's default is the
    /// upstream's name) after matching the browser's host itself.
    var hostIsBrowsers = true

    static func of(peer: String?, head: HTTPRequest, trusted: TrustedProxies) -> ClientOrigin {
        var client = peer
        var scheme = "http"
        var authority = head.authority
        var hostIsBrowsers = true
        if let peer, trusted.trusts(peer) {
            let forwarded = ForwardedHeaders(head.headerFields)
            if let chain = forwarded.chain, !chain.isEmpty {
                // The rightmost hop that is not one of ours is the client; a chain of only trusted hops names its first.
                client = chain.last { !trusted.trusts($0) } ?? chain.first
            }
            if let proto = forwarded.proto?.lowercased(), proto == "http" || proto == "https" { scheme = proto }
            if let host = forwarded.host { authority = host } else { hostIsBrowsers = false }
        }
        return ClientOrigin(
            clientAddress: client,
            asked: authority.flatMap { PublicOrigin(scheme: scheme, authority: $0) },
            hostIsBrowsers: hostIsBrowsers
        )
    }
}

/// The forwarding headers of a request, read leniently (a value that cannot be parsed is ignored, never a failure):
/// RFC 7239 `Forwarded` when present, else the `X-Forwarded-*` headers. Each proxy appends to the chain, so the
/// last `proto` and `host` are those of the nearest proxy.
struct ForwardedHeaders {
    /// The client and proxy addresses, leftmost first.
    var chain: [String]?
    var proto: String?
    var host: String?

    init(_ fields: HTTPFields) {
        let forwarded = fields[values: .forwarded]
        if !forwarded.isEmpty {
            var chain: [String] = []
            for element in forwarded.joined(separator: ",").split(separator: ",") {
                for pair in element.split(separator: ";") {
                    let parts = pair.split(separator: "=", maxSplits: 1)
                    guard parts.count == 2 else { continue }
                    let name = parts[0].trimmingCharacters(in: .whitespaces).lowercased()
                    let value = Self.unquoted(parts[1])
                    switch name {
                    case "for": if let address = Self.address(value) { chain.append(address) }
                    case "proto": proto = value
                    case "host": host = value
                    default: break
                    }
                }
            }
            self.chain = chain
            return
        }
        let list = fields[values: .xForwardedFor].joined(separator: ",").split(separator: ",")
            .compactMap { Self.address(Self.unquoted($0)) }
        chain = list.isEmpty ? nil : list
        proto = fields[values: .xForwardedProto].joined(separator: ",").split(separator: ",").last
            .map { $0.trimmingCharacters(in: .whitespaces) }
        host = fields[values: .xForwardedHost].joined(separator: ",").split(separator: ",").last
            .map { $0.trimmingCharacters(in: .whitespaces) }
    }

    private static func unquoted(_ text: Substring) -> String {
        var value = text.trimmingCharacters(in: .whitespaces)
        if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
        return value
    }

    /// The address of a `for=` value or list entry: `192.0.2.1`, `192.0.2.1:4711`, `[2001:db8::1]:4711`, `2001:db8::1`;
    /// nil for `unknown`, obfuscated names and anything else.
    private static func address(_ value: String) -> String? {
        var text = value
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            text = String(text[text.index(after: text.startIndex)..<close])
        } else if text.filter({ $0 == ":" }).count == 1, let colon = text.firstIndex(of: ":") {
            text = String(text[..<colon])
        }
        return IPNetwork.bytes(of: text) == nil ? nil : text
    }
}

/// Sets the request's client address and public origin (``ClientOrigin``; a configured `PUBLIC_URL` names the
/// origin outright), and refuses a `Host` the site does not serve (`ALLOWED_HOSTS`) with a 400 page before anything
/// else reads the request: a page of another site's name that points at this server (DNS rebinding) gets nothing.
/// Behind a trusted proxy that forwards no host, the proxy has chosen the site by its name already, and the `Host`
/// it passes on is not checked.
struct ClientOriginMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let trusted: TrustedProxies
    let publicURL: PublicOrigin?
    let allowedHosts: AllowedHosts

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let client = ClientOrigin.of(peer: context.peerAddress, head: request.head, trusted: trusted)
        context.remoteAddress = client.clientAddress
        // Every line logged for the request names its client (the visitor, not the proxy).
        if let address = client.clientAddress { context.logger[metadataKey: "client"] = .string(address) }
        context.publicOrigin = publicURL ?? client.asked
        if client.hostIsBrowsers, let host = client.asked?.host, !allowedHosts.allows(host) {
            context.logger.debug("Host refused", metadata: ["host": .string(String(host.prefix(100)))])
            throw PageError.badRequest
        }
        var response = try await next(request, context)
        if context.publicOrigin?.scheme == "https" {
            // Browsers that reached the site over HTTPS keep to it for a year.
            response.headers[.strictTransportSecurity] = "max-age=31536000"
        }
        return response
    }
}

/// The host names the site answers to (`ALLOWED_HOSTS`, Django's setting): a name, `.example.com` for the domain
/// and its subdomains, or `*` for any.
package struct AllowedHosts: Sendable, Equatable {
    let patterns: [String]

    /// Any host: what a server on a public address without `ALLOWED_HOSTS` or `PUBLIC_URL` answers to.
    package static let any = AllowedHosts(patterns: ["*"])
    /// The names of the loopback interface: the default of a server that listens on one.
    package static let loopback = AllowedHosts(patterns: ["localhost", "127.0.0.1", "[::1]", "::1"])

    package init(patterns: [String]) {
        self.patterns = patterns.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty }
    }

    func allows(_ host: String) -> Bool {
        let host = host.lowercased()
        return patterns.contains { pattern in
            if pattern == "*" || pattern == host { return true }
            if pattern.hasPrefix(".") { return host.hasSuffix(pattern) || host == String(pattern.dropFirst()) }
            return false
        }
    }
}

extension HTTPField.Name {
    // invariant: literals that are valid field names; HTTPField.Name refuses only invalid tokens.
    static let forwarded = HTTPField.Name("Forwarded")!
    static let xForwardedFor = HTTPField.Name("X-Forwarded-For")!  // invariant: a valid literal name
    static let xForwardedProto = HTTPField.Name("X-Forwarded-Proto")!  // invariant: a valid literal name
    static let xForwardedHost = HTTPField.Name("X-Forwarded-Host")!  // invariant: a valid literal name
}
