import Foundation

/// The real `microblog` executable, started as a separate process on an ephemeral port: for tests where two
/// server processes share one database file.
final class ServerProcess: @unchecked Sendable {
    // @unchecked: `process` and `port` are set once in `start` before the object is shared, then only read.
    let process = Process()
    private(set) var port = 0
    private let output = Pipe()

    /// The executable next to the test bundle (`swift build` puts both in one folder).
    static var executableURL: URL {
        let bundle = Bundle.main.bundleURL
        let candidates = [
            bundle.deletingLastPathComponent().appendingPathComponent("microblog"),
            bundle.appendingPathComponent("microblog"),
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("microblog"),
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
    }

    /// Starts the server with `environment` (plus PORT=0) and returns once it has said which port it listens on.
    static func start(environment: [String: String], workingDirectory: URL) async throws -> ServerProcess {
        let server = ServerProcess()
        let executable = executableURL
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            throw ServerProcessError.executableMissing(executable.path)
        }
        server.process.executableURL = executable
        server.process.currentDirectoryURL = workingDirectory
        server.process.environment = ProcessInfo.processInfo.environment.merging(environment.merging(["PORT": "0"]) { $1 }) { $1 }
        server.process.standardOutput = server.output
        server.process.standardError = server.output
        try server.process.run()
        server.port = try await server.waitForPort()
        return server
    }

    /// Reads the server's output, on a thread of its own, until the "listening on host:port" line.
    private func waitForPort() async throws -> Int {
        let handle = output.fileHandleForReading
        return try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                var text = ""
                while true {
                    let data = handle.availableData
                    if data.isEmpty {
                        continuation.resume(throwing: ServerProcessError.exited(text))
                        return
                    }
                    text += String(decoding: data, as: UTF8.self)
                    if let match = text.firstMatch(of: /listening on 127\.0\.0\.1:(\d+)/), let port = Int(match.1), port > 0 {
                        continuation.resume(returning: port)
                        // Keep draining so the server never blocks on a full pipe.
                        while !handle.availableData.isEmpty {}
                        return
                    }
                }
            }
        }
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }

    deinit {
        stop()
    }
}

enum ServerProcessError: Error {
    case executableMissing(String)
    case exited(String)
}
