import Foundation
import HTTPTypes
import Hummingbird
import MicroblogClient
import Testing
@testable import Microblog

/// Who the client is behind a reverse proxy, which origin the browser addressed, and which hosts the site answers to.
@Suite("Trusted proxies, the public origin and ALLOWED_HOSTS")
struct ProxyTests {
    @Test("Addresses and networks: IPv4, IPv6, CIDR prefixes; anything else is refused")
    func networks() throws {
        let proxies = try #require(TrustedProxies(parsing: "10.0.0.0/8, 127.0.0.1, fd00::/8, ::1"))
        #expect(proxies.trusts("10.1.2.3") && proxies.trusts("127.0.0.1") && proxies.trusts("fd12::5") && proxies.trusts("::1"))
        #expect(!proxies.trusts("11.0.0.1") && !proxies.trusts("127.0.0.2") && !proxies.trusts("fe80::1") && !proxies.trusts("nonsense"))
        #expect(try #require(TrustedProxies(parsing: "192.0.2.128/25")).trusts("192.0.2.200"))
        #expect(!(try #require(TrustedProxies(parsing: "192.0.2.128/25")).trusts("192.0.2.100")))
        for bad in ["10.0.0.0/33", "example.com", "10.0.0.0/x", "::1/129"] {
            #expect(TrustedProxies(parsing: bad) == nil, "\(bad)")
        }
        #expect(TrustedProxies(parsing: "") == TrustedProxies.none)
    }

    static func head(_ fields: HTTPFields, authority: String = "127.0.0.1:8080") -> HTTPRequest {
        HTTPRequest(method: .post, scheme: nil, authority: authority, path: "/login", headerFields: fields)
    }

    @Test("The client is the rightmost hop that is not a trusted proxy; scheme and host come from the proxy; an untrusted peer's headers are ignored")
    func clientOrigin() throws {
        let proxies = try #require(TrustedProxies(parsing: "127.0.0.1, 10.0.0.0/8"))
        let forwarded = Self.head([.xForwardedFor: "198.51.100.9, 203.0.113.7, 10.0.0.2", .xForwardedProto: "https", .xForwardedHost: "site.example"])
        let behind = ClientOrigin.of(peer: "127.0.0.1", head: forwarded, trusted: proxies)
        #expect(behind.clientAddress == "203.0.113.7", "a client may prepend anything; the hop our proxies saw is what counts")
        #expect(behind.asked == PublicOrigin(scheme: "https", host: "site.example", port: nil))

        let direct = ClientOrigin.of(peer: "192.0.2.50", head: forwarded, trusted: proxies)
        #expect(direct.clientAddress == "192.0.2.50", "forwarding headers from an untrusted peer are ignored")
        #expect(direct.asked == PublicOrigin(scheme: "http", host: "127.0.0.1", port: 8080))

        let rfc7239 = Self.head([.forwarded: #"for=192.0.2.60;proto=https;host=site.example, for="[2001:db8:cafe::17]:4711""#])
        #expect(ClientOrigin.of(peer: "10.0.0.1", head: rfc7239, trusted: proxies).clientAddress == "2001:db8:cafe::17")
        #expect(ClientOrigin.of(peer: "10.0.0.1", head: rfc7239, trusted: proxies).asked?.scheme == "https")

        #expect(behind.hostIsBrowsers && direct.hostIsBrowsers)
        // nginx's defaults: no forwarded host, and a Host naming the upstream; the proxy matched the browser's host.
        let upstreamHost = Self.head([.xForwardedFor: "198.51.100.9"], authority: "microblog")
        #expect(!ClientOrigin.of(peer: "127.0.0.1", head: upstreamHost, trusted: proxies).hostIsBrowsers)
        #expect(ClientOrigin.of(peer: "192.0.2.50", head: upstreamHost, trusted: proxies).hostIsBrowsers)

        let onlyProxies = Self.head([.xForwardedFor: "10.0.0.5, 10.0.0.6"])
        #expect(ClientOrigin.of(peer: "127.0.0.1", head: onlyProxies, trusted: proxies).clientAddress == "10.0.0.5")
        let garbage = Self.head([.xForwardedFor: "unknown, not-an-address", .xForwardedProto: "gopher"])
        let withGarbage = ClientOrigin.of(peer: "127.0.0.1", head: garbage, trusted: proxies)
        #expect(withGarbage.clientAddress == "127.0.0.1" && withGarbage.asked?.scheme == "http", "unparsable values are ignored")
    }

    @Test("A Host value is read as a browser's Origin is: host and port, IPv6 in brackets; nonsense is no origin")
    func authorities() {
        #expect(PublicOrigin(scheme: "http", authority: "127.0.0.1:8080") == PublicOrigin(url: "http://127.0.0.1:8080"))
        #expect(PublicOrigin(scheme: "https", authority: "Site.Example") == PublicOrigin(url: "https://site.example:443"))
        #expect(PublicOrigin(scheme: "http", authority: "[::1]:8080") == PublicOrigin(url: "http://[::1]:8080"))
        #expect(PublicOrigin(scheme: "http", authority: "[::1]")?.host == "::1")
        for bad in ["", ":80", "host:port", "host:99999", "[::1", "a b", "evil.example/path", "[::1]x"] {
            #expect(PublicOrigin(scheme: "http", authority: bad) == nil, "\(bad)")
        }
    }

    @Test("ALLOWED_HOSTS: names, a domain and its subdomains, any; the defaults")
    func allowedHosts() {
        let hosts = AllowedHosts(patterns: ["site.example", ".example.org"])
        #expect(hosts.allows("site.example") && hosts.allows("SITE.example") && hosts.allows("www.example.org") && hosts.allows("example.org"))
        #expect(!hosts.allows("evil.example") && !hosts.allows("example.org.evil"))
        #expect(AllowedHosts.any.allows("anything"))
        let local = AppConfiguration(secretKey: String(repeating: "k", count: 40))
        #expect(local.effectiveAllowedHosts.allows("127.0.0.1") && local.effectiveAllowedHosts.allows("localhost"))
        #expect(!local.effectiveAllowedHosts.allows("rebound.example"), "a loopback server refuses other names (DNS rebinding)")
        let published = AppConfiguration(secretKey: String(repeating: "k", count: 40), host: "0.0.0.0", publicURL: "https://site.example")
        #expect(published.effectiveAllowedHosts.allows("site.example") && !published.effectiveAllowedHosts.allows("other.example"))
        #expect(AppConfiguration(secretKey: String(repeating: "k", count: 40), host: "0.0.0.0").effectiveAllowedHosts == .any)
    }

    /// A visitor behind the proxy at `address` (the test's live server trusts 127.0.0.1, the test's own peer).
    static func login(_ client: LiveClient, as name: String, password: String, from address: String?) async throws -> Page {
        let browser = Browser(client)
        var headers: HTTPFields = [:]
        if let address { headers[.xForwardedFor] = address }
        let form = try await browser.send("/login", method: .get, headers: headers, body: nil)
        let token = try #require(form.csrfToken)
        headers[.contentType] = FormEncoding.contentType
        let body = FormEncoding.encode(FormFields.login(csrfToken: token, username: name, password: password))
        return try await browser.send("/login", method: .post, headers: headers, body: .init(string: body))
    }

    @Test("Behind a trusted proxy: 60 failures from 60 addresses lock nobody else out; one address is limited alone", arguments: Backend.all)
    func clientsBehindTheProxy(_ backend: Backend) async throws {
        var env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        env.configuration.trustedProxies = try #require(TrustedProxies(parsing: "127.0.0.1, ::1"))
        env.configuration.loginThrottle.allowedClientFailures = 50
        try await env.withLiveServer { client async throws in
            try await Browser(client).register("bystander")
            for visitor in 0..<60 {
                let page = try await Self.login(client, as: "nobody\(visitor)", password: "guess", from: "198.51.100.\(visitor + 1)")
                #expect(page.status == .ok, "visitor \(visitor): \(page.status)")
            }
            #expect(try await Self.login(client, as: "bystander", password: "pw-bystander-pw", from: "203.0.113.1").status == .found)
            for attempt in 0..<50 {
                #expect(try await Self.login(client, as: "someone\(attempt)", password: "guess", from: "192.0.2.7").status == .ok)
            }
            #expect(try await Self.login(client, as: "someone", password: "guess", from: "192.0.2.7").status == .tooManyRequests)
            #expect(try await Self.login(client, as: "someone", password: "guess", from: "192.0.2.8").status == .ok, "another address is not limited")
        }
    }

    @Test("Without a trusted proxy, a forged X-Forwarded-For is ignored: every attempt counts against the peer", arguments: Backend.all)
    func forgedForwardedForIsIgnored(_ backend: Backend) async throws {
        var env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        env.configuration.loginThrottle.allowedClientFailures = 10
        try await env.withLiveServer { client async throws in
            for attempt in 0..<10 {
                #expect(try await Self.login(client, as: "nobody\(attempt)", password: "guess", from: "198.51.100.\(attempt + 1)").status == .ok)
            }
            #expect(try await Self.login(client, as: "nobody", password: "guess", from: "203.0.113.99").status == .tooManyRequests)
        }
    }

    @Test("The same-origin check compares scheme, host and port with PUBLIC_URL: an http:// page or another host is refused")
    func publicOrigin() async throws {
        var env = try TestEnvironment()
        defer { env.removeFiles() }
        env.configuration.publicURL = "https://site.example"
        env.configuration.allowedHosts = AllowedHosts(patterns: ["127.0.0.1", "site.example"])
        try await env.withLiveServer { client async throws in
            let alice = Browser(client)
            try await alice.signUp("alice")
            func post(origin: String) async throws -> Page {
                let token = try await alice.csrfToken(from: "/index")
                let body = FormEncoding.encode([(FormFields.csrfTokenName, token), ("post", "from \(origin)")])
                return try await alice.send(
                    "/index", method: .post, headers: [.origin: origin, .contentType: FormEncoding.contentType], body: .init(string: body)
                )
            }
            #expect(try await post(origin: "https://site.example").status == .found)
            #expect(try await post(origin: "http://site.example").status == .forbidden, "the scheme counts")
            #expect(try await post(origin: "https://site.example:8443").status == .forbidden, "the port counts")
            #expect(try await post(origin: "https://evil.example").status == .forbidden)
        }
    }

    @Test("A Host the site does not serve is a 400; by default a loopback server answers only to loopback names")
    func hostRefused() async throws {
        let env = try TestEnvironment()
        defer { env.removeFiles() }
        try await env.withLiveServer { client async throws in
            for (host, expected) in [("rebound.example", "400"), ("localhost:\(client.port)", "200"), ("127.0.0.1", "200")] {
                let connection = try await RawConnection.open(port: client.port)
                try await connection.send("GET /login HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n")
                let response = try await connection.waitForResponse()
                await connection.close()
                #expect(response.hasPrefix("HTTP/1.1 \(expected)"), "Host: \(host): \(response.prefix(40))")
            }
        }
    }

    @Test("Behind TLS (PUBLIC_URL on https): every cookie is Secure, the signed-out form's has the __Host- prefix, HSTS is sent, signed-in pages are no-store")
    func secureDefaults() async throws {
        var env = try TestEnvironment()
        defer { env.removeFiles() }
        env.configuration.publicURL = "https://site.example"
        env.configuration.allowedHosts = AllowedHosts(patterns: ["127.0.0.1"])
        try await env.withLiveServer { client async throws in
            let browser = Browser(client)
            let form = try await browser.get("/login")
            let setCookies = form.headers[values: .setCookie]
            #expect(setCookies.contains { $0.hasPrefix("__Host-csrf_nonce=") && $0.contains("Secure") && $0.contains("Path=/") }, "\(setCookies)")
            #expect(form.headers[.strictTransportSecurity] == "max-age=31536000")
            #expect(form.headers[.cacheControl] == nil, "a signed-out page may be cached")
            #expect(try await browser.register("alice").status == .found)
            let login = try await browser.login("alice", rememberMe: true)
            #expect(login.status == .found)
            let cookies = login.headers[values: .setCookie]
            #expect(Self.names(cookies).isSuperset(of: ["session", "remember_token", "device"]), "\(cookies)")
            #expect(Self.insecure(cookies).isEmpty, "every cookie set at login is Secure: \(cookies)")
            let home = try await browser.get("/index")
            #expect(home.status == .ok)
            #expect(home.headers[.cacheControl] == "no-store")
        }
    }

    /// The names of the cookies `Set-Cookie` values set.
    static func names(_ setCookies: [String]) -> Set<String> {
        Set(setCookies.compactMap { $0.split(separator: "=", maxSplits: 1).first.map(String.init) })
    }

    /// The `Set-Cookie` values without the `Secure` attribute.
    static func insecure(_ setCookies: [String]) -> [String] {
        setCookies.filter { !$0.contains("Secure") }
    }
}
