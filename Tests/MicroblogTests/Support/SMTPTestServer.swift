import NIOConcurrencyHelpers
import Foundation

/// A real SMTP server (aiosmtpd) on a free port of 127.0.0.1 that stores every message it receives as a file.
///
/// The interpreter is `$MICROBLOG_TEST_PYTHON`, else `<package>/.venv/bin/python`, else `python3` on the PATH.
/// When aiosmtpd cannot be imported, ``start(port:tls:auth:in:)`` throws a failure that says how to install it.
final class SMTPTestServer: Sendable {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let port: Int
    let mailDirectory: String
    private let running: NIOLockedValueBox<(process: ChildProcess, stdin: Pipe)?>

    private init(port: Int, mailDirectory: String, process: ChildProcess, stdin: Pipe) {
        self.port = port
        self.mailDirectory = mailDirectory
        self.running = NIOLockedValueBox((process, stdin))
    }

    deinit {
        stop()
    }

    /// The Python interpreter the tests use.
    static var python: String {
        if let python = ProcessInfo.processInfo.environment["MICROBLOG_TEST_PYTHON"], !python.isEmpty {
            return python
        }
        let venv = packageRoot + "/.venv/bin/python"
        if FileManager.default.isExecutableFile(atPath: venv) { return venv }
        return "python3"
    }

    /// The package's root folder, found from this file's path.
    static var packageRoot: String {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.path
    }

    /// Starts aiosmtpd and waits until it accepts connections.
    ///
    /// - Parameters:
    ///   - tls: certificate and key PEM files: STARTTLS offered and required.
    ///   - auth: user and password required (after STARTTLS).
    ///   - directory: where the script and the received messages go.
    static func start(
        tls: (certificate: String, key: String)? = nil,
        auth: (user: String, password: String)? = nil,
        in directory: TemporaryDirectory
    ) async throws -> SMTPTestServer {
        let script = directory.file("smtp_server.py")
        try SMTPServerScript.source.write(toFile: script, atomically: true, encoding: .utf8)
        let mailDirectory = directory.file("mail-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(atPath: mailDirectory, withIntermediateDirectories: true)

        var arguments = [script, "--dir", mailDirectory, "--port", "0"]
        if let tls { arguments += ["--cert", tls.certificate, "--key", tls.key] }
        if let auth {
            arguments += ["--auth", "\(auth.user):\(auth.password)"]
            Artifacts.secret(auth.password, kind: "MAIL_PASSWORD")
        }

        let python = Self.python
        let process = ChildProcess()
        if python.contains("/") {
            process.executableURL = URL(fileURLWithPath: python)
            process.arguments = arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [python] + arguments
        }
        let stdin = Pipe()
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr

        let readiness = Readiness()
        stdout.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty {
                // End of output: the termination handler reports why, with the server's stderr.
                handle.readabilityHandler = nil
            } else {
                readiness.append(data)
            }
        }
        process.terminationHandler = { process in
            let errorText = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            readiness.finish(
                .failure(
                    Failure(
                        description: """
                            The aiosmtpd test server exited (status \(process.terminationStatus)) before it was ready. \
                            Interpreter: \(python). Install aiosmtpd: `python3 -m venv .venv && .venv/bin/pip install aiosmtpd` \
                            in the package root, or set MICROBLOG_TEST_PYTHON to a Python that has it. Its stderr: \(errorText)
                            """
                    )
                )
            )
        }
        do {
            try process.run()
        } catch {
            throw Failure(description: "Cannot start \(python) for the aiosmtpd test server: \(error)")
        }
        let boundPort: Int
        do {
            boundPort = try await readiness.wait()
        } catch {
            if process.isRunning { process.terminate() }
            throw error
        }
        return SMTPTestServer(port: boundPort, mailDirectory: mailDirectory, process: process, stdin: stdin)
    }

    /// Stops the server (idempotent).
    func stop() {
        guard let (process, stdin) = running.withLockedValue({ $0.take() }) else { return }
        if process.isRunning {
            process.terminate()
        }
        // Closing stdin also ends the script if the signal was missed.
        try? stdin.fileHandleForWriting.close()
    }

    /// The messages received so far, oldest first, each as stored (envelope lines, then the raw message).
    func messages() throws -> [String] {
        let names = try FileManager.default.contentsOfDirectory(atPath: mailDirectory)
            .filter { $0.hasSuffix(".eml") }
            .sorted()
        return try names.map { try String(contentsOfFile: mailDirectory + "/" + $0, encoding: .utf8) }
    }
}

/// Collects the server's stdout until `READY <port>` and hands the port to the waiting test.
private final class Readiness: Sendable {
    private struct State {
        var output = Data()
        var result: Result<Int, any Error>?
        var waiter: CheckedContinuation<Int, any Error>?
    }

    private let state = NIOLockedValueBox(State())

    func append(_ data: Data) {
        let text: String? = state.withLockedValue { state in
            state.output.append(data)
            return String(decoding: state.output, as: UTF8.self)
        }
        guard let text, let line = text.split(separator: "\n").first(where: { $0.hasPrefix("READY ") }),
            let port = Int(line.dropFirst(6).trimmingCharacters(in: .whitespaces))
        else { return }
        finish(.success(port))
    }

    func finish(_ result: Result<Int, any Error>) {
        let waiter = state.withLockedValue { state -> CheckedContinuation<Int, any Error>? in
            guard state.result == nil else { return nil }
            state.result = result
            return state.waiter.take()
        }
        waiter?.resume(with: result)
    }

    func wait() async throws -> Int {
        try await withCheckedThrowingContinuation { continuation in
            let ready = state.withLockedValue { state -> Result<Int, any Error>? in
                if let result = state.result { return result }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(with: ready) }
        }
    }
}
