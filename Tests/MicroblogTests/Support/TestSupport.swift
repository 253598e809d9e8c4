import Foundation
import Logging
import Microblog
import ServiceLifecycle
import NIOConcurrencyHelpers

/// Runs a ``LogSink`` in a `ServiceGroup` while `body` runs, then shuts it down gracefully and waits for it.
func withRunningSink<T: Sendable>(
    _ configuration: LogConfiguration,
    mail: MailConfiguration? = nil,
    policy: MailPolicy = MailPolicy(),
    _ body: @Sendable (LogSink) async throws -> T
) async throws -> T {
    try await withRunning(LogSink(configuration: configuration, mail: mail, mailPolicy: policy), body)
}

/// Runs `sink` in a `ServiceGroup` while `body` runs, then shuts it down gracefully and waits for it.
func withRunning<T: Sendable>(_ sink: LogSink, _ body: @Sendable (LogSink) async throws -> T) async throws -> T {
    let group = ServiceGroup(
        services: [sink],
        logger: Logger(label: "test-service-group", factory: { _ in SwiftLogNoOpLogHandler() })
    )
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        do {
            let result = try await body(sink)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return result
        } catch {
            await group.triggerGracefulShutdown()
            try? await tasks.waitForAll()
            throw error
        }
    }
}

/// A logger writing only to `sink` (tests never bootstrap the logging system).
func sinkLogger(_ sink: LogSink) -> Logger {
    Logger(label: "test", factory: sink.makeHandler)
}

/// The lines of a file; empty when it does not exist.
func readLines(_ path: String) -> [String] {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
    return text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
}

struct ProcessFailure: Error, CustomStringConvertible {
    var description: String
}

/// Starts `process` and waits, without blocking a cooperative thread, for it to end; returns its exit status.
func run(_ process: ChildProcess) async throws -> Int32 {
    try await withCheckedThrowingContinuation { continuation in
        process.terminationHandler = { process in
            continuation.resume(returning: process.terminationStatus)
        }
        do {
            try process.run()
        } catch {
            process.terminationHandler = nil
            continuation.resume(throwing: error)
        }
    }
}

/// Runs a program to completion; throws with its standard error if it fails.
func runProcess(_ executable: String, _ arguments: [String]) async throws {
    let process = ChildProcess()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let errors = Pipe()
    process.standardError = errors
    process.standardOutput = FileHandle.nullDevice
    let status = try await run(process)
    guard status == 0 else {
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        throw ProcessFailure(description: "\(executable) \(arguments.joined(separator: " ")) failed (\(status)): \(text)")
    }
}

/// A self-signed certificate for `localhost` and 127.0.0.1, made with the openssl CLI.
func makeSelfSignedCertificate(in directory: TemporaryDirectory) async throws -> (certificate: String, key: String) {
    let certificate = directory.file("cert.pem")
    let key = directory.file("key.pem")
    try await runProcess(
        "/usr/bin/env",
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", key, "-out", certificate, "-days", "1", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ]
    )
    return (certificate, key)
}
