import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Debian's nginx in front of the site, run from the shipped site file `deploy/nginx-microblog.conf` with only what
/// the file says is the deployer's changed: the name (to `localhost`), the certificate's paths (a self-signed one
/// made by openssl for this run) and the ports. Each change must match the file exactly once, so a file that drifted
/// fails here instead of being tested half-applied.
final class Nginx: Sendable {
    /// The HTTPS port, on 127.0.0.1.
    let port: Int
    /// The certificate nginx presents: the trust root of the test's clients.
    let certificate: String
    let process: ServerProcess
    private let folder: TemporaryDirectory

    private init(port: Int, certificate: String, process: ServerProcess, folder: TemporaryDirectory) {
        self.port = port
        self.certificate = certificate
        self.process = process
        self.folder = folder
    }

    /// `deploy/nginx-microblog.conf`, found from this file's path.
    static var siteFile: URL {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("deploy/nginx-microblog.conf")
    }

    /// The origin browsers use.
    var origin: String { "https://localhost:\(port)" }

    /// Starts nginx with HTTPS on `port` and plain HTTP on `redirectPort`, in front of the instances on `upstreams`
    /// (two ports, in the file's order), and returns once its worker runs.
    static func start(port: Int, redirectPort: Int, upstreams: [Int]) async throws -> Nginx {
        let folder = try TemporaryDirectory("microblog-nginx")
        let (certificate, key) = try await makeSelfSignedCertificate(in: folder)
        let site = try site(
            port: port, redirectPort: redirectPort, upstreams: upstreams, certificate: certificate, key: key
        )
        try site.write(toFile: folder.file("site.conf"), atomically: true, encoding: .utf8)
        for name in ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"] {
            try FileManager.default.createDirectory(atPath: folder.file(name), withIntermediateDirectories: true)
        }
        // What Debian's /etc/nginx/nginx.conf gives a site, in a folder of the test's own, in the foreground.
        let main = """
            daemon off;
            worker_processes 1;
            pid \(folder.file("nginx.pid"));
            error_log stderr notice;
            \(getuid() == 0 ? "user root;" : "")
            events { worker_connections 1024; }
            http {
                access_log \(folder.file("access.log"));
                client_body_temp_path \(folder.file("client_body"));
                proxy_temp_path \(folder.file("proxy"));
                fastcgi_temp_path \(folder.file("fastcgi"));
                uwsgi_temp_path \(folder.file("uwsgi"));
                scgi_temp_path \(folder.file("scgi"));
                include \(folder.file("site.conf"));
            }
            """
        try main.write(toFile: folder.file("nginx.conf"), atomically: true, encoding: .utf8)
        let process = try await ServerProcess.startPeer(
            URL(fileURLWithPath: "/usr/sbin/nginx"),
            arguments: ["-p", folder.path, "-e", "stderr", "-c", folder.file("nginx.conf")],
            workingDirectory: URL(fileURLWithPath: folder.path),
            // The master opens the listening sockets before it starts its worker.
            readyWhen: "start worker process "
        )
        return Nginx(port: port, certificate: certificate, process: process, folder: folder)
    }

    /// The shipped site file with the deployer's values replaced by the test's.
    static func site(port: Int, redirectPort: Int, upstreams: [Int], certificate: String, key: String) throws -> String {
        var text = try String(contentsOf: siteFile, encoding: .utf8)
        let changes = [
            ("server 127.0.0.1:8081 ", "server 127.0.0.1:\(upstreams[0]) "),
            ("server 127.0.0.1:8082 ", "server 127.0.0.1:\(upstreams[1]) "),
            ("listen 443 ssl;", "listen 127.0.0.1:\(port) ssl;"),
            ("listen 443 ssl default_server;", "listen 127.0.0.1:\(port) ssl default_server;"),
            ("listen 80;", "listen 127.0.0.1:\(redirectPort);"),
            ("/etc/ssl/microblog/fullchain.pem", certificate),
            ("/etc/ssl/microblog/privkey.pem", key),
        ]
        for (old, new) in changes {
            guard text.components(separatedBy: old).count == 2 else { throw NginxSiteError.changedFile(expected: old) }
            text = text.replacingOccurrences(of: old, with: new)
        }
        let name = "server_name microblog.example;"
        guard text.components(separatedBy: name).count == 3 else { throw NginxSiteError.changedFile(expected: "\(name), twice") }
        return text.replacingOccurrences(of: name, with: "server_name localhost;")
    }

    /// The requests nginx has answered so far (the lines of its access log).
    func requestsServed() -> Int {
        ((try? String(contentsOfFile: folder.file("access.log"), encoding: .utf8)) ?? "").reduce(0) { $1 == "\n" ? $0 + 1 : $0 }
    }

    func stop() {
        process.stop()
        folder.remove()
    }
}

/// The shipped nginx site file no longer holds a line the test changes.
enum NginxSiteError: Error {
    case changedFile(expected: String)
}

/// Ports of 127.0.0.1 nobody listens on now, distinct, below Linux's ephemeral range (32768-60999), so no `PORT=0`
/// server and no outgoing connection is handed one meanwhile: for servers whose port must be known before they start
/// (nginx, and the instances behind it, which restart on the same port).
func unusedPorts(_ count: Int) throws -> [Int] {
    var ports: [Int] = []
    for _ in 0..<1000 where ports.count < count {
        let port = Int.random(in: 20_000..<32_000)
        if !ports.contains(port), isUnused(port) { ports.append(port) }
    }
    guard ports.count == count else { throw UnusedPortError.noneFound }
    return ports
}

/// Whether a listener could bind 127.0.0.1:`port` now.
private func isUnused(_ port: Int) -> Bool {
    let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard socket >= 0 else { return false }
    defer { close(socket) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    } == 0
}

enum UnusedPortError: Error {
    case noneFound
}
