import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// wrk's signed-in load through the proxy (`Tests/scripts/rolling-load.lua`): reads and posts until ``stop()``.
final class RollingLoad: Sendable {
    private let process: ChildProcess
    private let output: URL

    /// What wrk counted: its own line, the posts answered 302, and every request that failed (an answer other than
    /// 200 or the post's 302, or a socket error).
    struct Result {
        let line: String
        let acknowledged: Int
        let failures: Int
    }

    private init(process: ChildProcess, output: URL) {
        self.process = process
        self.output = output
    }

    /// `Tests/scripts/rolling-load.lua`, found from this file's path.
    static var script: String {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("scripts/rolling-load.lua").path
    }

    /// Starts wrk (one thread, 8 connections) against `url`, as the signed-in user of `cookie`.
    static func start(url: String, cookie: String, csrfToken: String, origin: String, prefix: String, directory: URL) throws -> RollingLoad {
        let output = directory.appendingPathComponent("wrk.out")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        let handle = try FileHandle(forWritingTo: output)
        defer { try? handle.close() }
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        // A duration no restart comes near: the test stops wrk itself.
        process.arguments = ["wrk", "-t1", "-c8", "-d600s", "-s", script, url]
        process.environment = ProcessInfo.processInfo.environment.merging([
            "LOAD_COOKIE": cookie, "LOAD_CSRF_TOKEN": csrfToken, "LOAD_ORIGIN": origin, "LOAD_PREFIX": prefix,
        ]) { $1 }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return RollingLoad(process: process, output: output)
    }

    /// Stops wrk with SIGINT (it then prints its summary and the script's line) and reads what it counted.
    func stop() async throws -> Result {
        let pid = process.processIdentifier
        kill(pid, SIGINT)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread {
                self.process.waitUntilExit()
                continuation.resume()
            }
        }
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        guard let line = text.split(separator: "\n").last(where: { $0.hasPrefix("RESULT ") }) else {
            throw RollingLoadError.noResult(text)
        }
        var counts: [String: Int] = [:]
        for pair in line.split(separator: " ").dropFirst() {
            let parts = pair.split(separator: "=")
            if parts.count == 2, let value = Int(parts[1]) { counts[String(parts[0])] = value }
        }
        // wrk's `status` counts the answers outside 2xx and 3xx, which the script's `failed` counts already.
        let failures = ["failed", "connect", "read", "write", "timeout"].reduce(0) { $0 + (counts[$1] ?? 0) }
        return Result(line: String(line), acknowledged: counts["acknowledged"] ?? 0, failures: failures)
    }
}

/// wrk ended without the script's RESULT line; everything it wrote.
enum RollingLoadError: Error {
    case noResult(String)
}
