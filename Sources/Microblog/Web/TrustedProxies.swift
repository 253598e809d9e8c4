import Foundation

/// The reverse proxies whose forwarding headers the site believes (`TRUSTED_PROXIES`: addresses and CIDR networks,
/// comma-separated; none by default). Only when the TCP peer is one of them are `Forwarded` (RFC 7239) or
/// `X-Forwarded-For`, `-Proto` and `-Host` read, as gunicorn's `forwarded_allow_ips` and Werkzeug's `ProxyFix` do.
package struct TrustedProxies: Sendable, Equatable {
    let networks: [IPNetwork]

    /// No proxy is trusted: every forwarding header is ignored.
    package static let none = TrustedProxies(networks: [])

    /// Parses `10.0.0.0/8, 127.0.0.1, ::1, fd00::/8`; nil when an entry is not an address or network.
    package init?(parsing text: String) {
        var networks: [IPNetwork] = []
        for entry in text.split(separator: ",") {
            let trimmed = entry.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let network = IPNetwork(trimmed) else { return nil }
            networks.append(network)
        }
        self.networks = networks
    }

    init(networks: [IPNetwork]) {
        self.networks = networks
    }

    /// Whether `address` is one of the trusted proxies.
    func trusts(_ address: String) -> Bool {
        guard let bytes = IPNetwork.bytes(of: address) else { return false }
        return networks.contains { $0.contains(bytes) }
    }
}

/// An IPv4 or IPv6 network (an address is a network of one), held as 16 bytes (IPv4 as IPv4-mapped IPv6).
struct IPNetwork: Sendable, Equatable {
    let bytes: [UInt8]
    let prefixLength: Int

    /// `192.0.2.0/24`, `2001:db8::/32`, or a single address.
    init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let first = parts.first, let bytes = Self.bytes(of: String(first)) else { return nil }
        let isIPv4 = !first.contains(":")
        var prefix = 128
        if parts.count == 2 {
            guard let given = Int(parts[1]), given >= 0, given <= (isIPv4 ? 32 : 128) else { return nil }
            prefix = isIPv4 ? given + 96 : given
        }
        self.bytes = bytes
        self.prefixLength = prefix
    }

    /// Whether the address (16 bytes) lies in this network.
    func contains(_ address: [UInt8]) -> Bool {
        guard address.count == 16, bytes.count == 16 else { return false }
        var remaining = prefixLength
        for index in 0..<16 where remaining > 0 {
            let bits = min(8, remaining)
            let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
            if address[index] & mask != bytes[index] & mask { return false }
            remaining -= bits
        }
        return true
    }

    /// The 16 bytes of an IPv4 address (IPv4-mapped) or an IPv6 address; nil for anything else.
    static func bytes(of address: String) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: 16)
        if address.withCString({ inet_pton(AF_INET6, $0, &bytes) }) == 1 { return bytes }
        var four = [UInt8](repeating: 0, count: 4)
        guard address.withCString({ inet_pton(AF_INET, $0, &four) }) == 1 else { return nil }
        return [UInt8](repeating: 0, count: 10) + [0xFF, 0xFF] + four
    }
}
