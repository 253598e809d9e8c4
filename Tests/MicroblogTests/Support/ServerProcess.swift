import Foundation
import NIOConcurrencyHelpers
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The real `microblog` executable, started as a separate process on an ephemeral port (or the port its
/// environment names): for tests where two server processes share one database file, or where a server is killed
/// mid-request and restarted. ``startPeer(_:arguments:workingDirectory:readyWhen:)`` starts another server (nginx)
/// the same way.
final class ServerProcess: @unchecked Sendable {
    // @unchecked: `process` and `port` are set once in `start` before the object is shared, then only read;
    // the output is behind its lock.
    let process = ChildProcess()
    private(set) var port = 0
    private let output = Pipe()
    private let transcript = NIOLockedValueBox(Transcript())

    /// What the server has written so far (its last `Transcript.limit` characters), and who waits for something in
    /// it: each waiter's `find` reads the text and returns its answer once there is one.
    private struct Transcript {
        static let limit = 64 * 1024
        var text = ""
        var finished = false
        var waiters: [Waiter] = []

        mutating func append(_ chunk: String) {
            text += chunk
            if text.count > Self.limit { text = String(text.suffix(Self.limit)) }
        }

    }

    private struct Waiter {
        let id: UUID
        let find: @Sendable (_ text: String, _ finished: Bool) -> Int?
        let continuation: CheckedContinuation<Int, any Error>
    }

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

    /// Starts the server with `environment` (PORT=0 unless it names a port) and returns once it has said which port
    /// it listens on.
    /// - Parameter unprivilegedUser: run as this user id (and group id) instead, through `setpriv`, so that file
    ///   permissions apply (the tests run as root). When that user cannot reach the built executable (a clone in a
    ///   private folder), the executable (and any resource bundles) is copied into `workingDirectory/bin` first.
    /// - Throws: ``ServerProcessError/exited(_:)`` with everything the server wrote, if it exits first.
    static func start(
        environment: [String: String],
        workingDirectory: URL,
        unprivilegedUser: UInt32? = nil,
        arguments commandArguments: [String] = []
    ) async throws -> ServerProcess {
        let executable = executableURL
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            throw ServerProcessError.executableMissing(executable.path)
        }
        guard let user = unprivilegedUser else {
            return try await launch(executable, commandArguments, environment: environment, workingDirectory: workingDirectory)
        }
        let program = isReachableByOthers(executable)
            ? executable
            : try copyExecutable(executable, into: workingDirectory.appendingPathComponent("bin"))
        let setpriv = URL(fileURLWithPath: "/usr/bin/setpriv")
        let arguments = ["--reuid=\(user)", "--regid=\(user)", "--clear-groups", program.path] + commandArguments
        var attempt = 1
        while true {
            do {
                return try await launch(setpriv, arguments, environment: environment, workingDirectory: workingDirectory)
            } catch ServerProcessError.exited(let output) where output.contains("Text file busy") && attempt < 20 {
                // A fresh copy stays open for writing in any child another test forked meanwhile, until that child
                // execs (ETXTBSY): start again once it has.
                attempt += 1
            }
        }
    }

    private static func launch(
        _ executable: URL,
        _ arguments: [String],
        environment: [String: String],
        workingDirectory: URL
    ) async throws -> ServerProcess {
        let server = ServerProcess()
        server.process.executableURL = executable
        server.process.arguments = arguments
        server.process.currentDirectoryURL = workingDirectory
        server.process.environment = ProcessInfo.processInfo.environment.merging(["PORT": "0"].merging(environment) { $1 }) { $1 }
        server.process.standardOutput = server.output
        server.process.standardError = server.output
        try server.process.run()
        server.readOutput()
        server.port = try await server.port(announcedAs: "Microblog listening on")
        return server
    }

    /// Starts `executable` (a peer the tests run beside the site, such as nginx) and returns once it has written
    /// `readyLine`; its ``port`` stays 0.
    /// - Throws: ``ServerProcessError/exited(_:)`` with everything it wrote, if it exits first.
    static func startPeer(
        _ executable: URL,
        arguments: [String],
        workingDirectory: URL,
        readyWhen readyLine: String
    ) async throws -> ServerProcess {
        let server = ServerProcess()
        server.process.executableURL = executable
        server.process.arguments = arguments
        server.process.currentDirectoryURL = workingDirectory
        server.process.standardOutput = server.output
        server.process.standardError = server.output
        try server.process.run()
        server.readOutput()
        try await server.waitForOutput(readyLine)
        return server
    }

    /// Whether any user may run `executable`: it and every folder above it are open to others.
    private static func isReachableByOthers(_ executable: URL) -> Bool {
        var url = executable
        while url.path != "/" {
            guard let mode = try? FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? Int,
                  mode & 0o001 != 0
            else { return false }
            url.deleteLastPathComponent()
        }
        return true
    }

    /// Copies the executable and any resource bundles beside it into `folder`.
    private static func copyExecutable(_ executable: URL, into folder: URL) throws -> URL {
        let files = FileManager.default
        if !files.fileExists(atPath: folder.path) {
            try files.createDirectory(at: folder, withIntermediateDirectories: true)
            let source = executable.deletingLastPathComponent()
            for name in try files.contentsOfDirectory(atPath: source.path) where name.hasSuffix(".resources") {
                try files.copyItem(at: source.appendingPathComponent(name), to: folder.appendingPathComponent(name))
            }
            try files.copyItem(at: executable, to: folder.appendingPathComponent(executable.lastPathComponent))
        }
        return folder.appendingPathComponent(executable.lastPathComponent)
    }

    /// Everything the server has written so far (the last 64 KiB of it): for a failing test's message.
    var outputText: String {
        transcript.withLockedValue { $0.text }
    }

    /// The port of the server's `<label> http://127.0.0.1:<port>` line (e.g. "Metrics listening on"), once written.
    /// - Throws: ``ServerProcessError/exited(_:)`` when the server ends without writing it.
    func port(announcedAs label: String) async throws -> Int {
        try await wait { text, _ in announcedPort(label, in: text) }
    }

    /// Returns once the server has written `line` (anywhere in what it wrote, within its last 64 KiB) `occurrences`
    /// times.
    /// - Throws: ``ServerProcessError/exited(_:)`` when the server ends without writing it.
    func waitForOutput(_ line: String, occurrences: Int = 1) async throws {
        _ = try await wait { text, _ in text.components(separatedBy: line).count > occurrences ? 0 : nil }
    }

    /// Returns once the server has closed its output: it has exited.
    func waitForExit() async throws {
        _ = try await wait { _, finished in finished ? 0 : nil }
        process.waitUntilExit()
    }

    /// Returns `find`'s first answer, read from the transcript now and whenever more arrives; throws
    /// `CancellationError` when the waiting task is cancelled (a test's time limit).
    private func wait(for find: @escaping @Sendable (_ text: String, _ finished: Bool) -> Int?) async throws -> Int {
        let id = UUID()
        let transcript = transcript
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let result: Result<Int, any Error>? = transcript.withLockedValue { state in
                    if let answer = find(state.text, state.finished) { return .success(answer) }
                    if state.finished { return .failure(ServerProcessError.exited(state.text)) }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    state.waiters.append(Waiter(id: id, find: find, continuation: continuation))
                    return nil
                }
                if let result { continuation.resume(with: result) }
            }
        } onCancel: {
            let waiter = transcript.withLockedValue { state in
                state.waiters.firstIndex { $0.id == id }.map { state.waiters.remove(at: $0) }
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Reads the server's output, on a thread of its own, until the end, keeping it and answering the waiters of
    /// the waits; so the server never blocks on a full pipe.
    private func readOutput() {
        let handle = output.fileHandleForReading
        let transcript = transcript
        Thread.detachNewThread {
            while true {
                let data = handle.availableData
                let answered = transcript.withLockedValue { state -> [(CheckedContinuation<Int, any Error>, Result<Int, any Error>)] in
                    if data.isEmpty {
                        state.finished = true
                    } else {
                        state.append(String(decoding: data, as: UTF8.self))
                    }
                    var answered: [(CheckedContinuation<Int, any Error>, Result<Int, any Error>)] = []
                    var waiting: [Waiter] = []
                    for waiter in state.waiters {
                        if let answer = waiter.find(state.text, state.finished) {
                            answered.append((waiter.continuation, .success(answer)))
                        } else if state.finished {
                            answered.append((waiter.continuation, .failure(ServerProcessError.exited(state.text))))
                        } else {
                            waiting.append(waiter)
                        }
                    }
                    state.waiters = waiting
                    return answered
                }
                for (continuation, result) in answered { continuation.resume(with: result) }
                if data.isEmpty { return }
            }
        }
    }

    /// Stops the server with SIGTERM (a graceful shutdown) and waits until it has exited.
    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            Artifacts.keep(outputText, as: "server.out")
        }
    }

    /// Kills the server with SIGKILL, as a crash would (no shutdown, no flushing, no checkpoint), and waits until
    /// it has exited. Returns whether this call killed it (false if it had already exited).
    @discardableResult
    func kill() -> Bool {
        guard process.isRunning else { return false }
        let sent = sendSignal(process.processIdentifier, SIGKILL) == 0
        process.waitUntilExit()
        Artifacts.keep(outputText, as: "server.out")
        return sent && process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGKILL
    }

    deinit {
        stop()
    }
}

/// `kill(2)`, under a name the method `ServerProcess.kill()` does not shadow.
private func sendSignal(_ pid: pid_t, _ signal: Int32) -> Int32 {
    #if canImport(Glibc)
    Glibc.kill(pid, signal)
    #else
    Darwin.kill(pid, signal)
    #endif
}

/// Why a server process could not be used: no executable, or it exited (with all it wrote) before listening.
enum ServerProcessError: Error {
    case executableMissing(String)
    case exited(String)
}
