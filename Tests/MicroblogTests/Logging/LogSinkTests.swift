import Foundation
import Logging
import Testing

@testable import Microblog

@Suite("Log sink")
struct LoggingSinkTests {
    @Test("The sink writes 'Microblog startup' first, then records at INFO and above")
    func startupAndLevels() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let configuration = LogConfiguration(directory: directory.path + "/nested/logs")
        try await withRunningSink(configuration) { sink in
            let logger = sinkLogger(sink)
            logger.debug("hidden")
            logger.info("shown", metadata: ["user": "alice"])
            logger.warning("careful")
            await sink.flush()
            let lines = readLines(configuration.filePath)
            #expect(lines.count == 3, "\(lines)")
            #expect(lines.first?.contains(" INFO: Microblog startup [in Microblog/LogSink.swift:") == true)
            #expect(lines.dropFirst().first?.contains(" INFO: shown user=alice [in MicroblogTests/LogSinkTests.swift:") == true)
            #expect(lines.last?.contains(" WARNING: careful [in ") == true)
        }
    }

    @Test("A username with a newline still logs as one line")
    func newlineInUsername() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let configuration = LogConfiguration(directory: directory.path)
        try await withRunningSink(configuration) { sink in
            let username = "mallory\n2026-11-26 10:00:00,000 INFO: forged"
            sinkLogger(sink).info("User \(username) logged in", metadata: ["username": "\(username)"])
            await sink.flush()
        }
        let lines = readLines(configuration.filePath)
        #expect(lines.count == 2)
        #expect(lines[1].contains("User mallory\\n2026-11-26 10:00:00,000 INFO: forged logged in"))
    }

    @Test("Records past the buffer bound are dropped, counted, and reported once the sink catches up")
    func dropsAreReported() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let configuration = LogConfiguration(directory: directory.path, bufferCapacity: 10)
        let sink = LogSink(configuration: configuration, mail: nil)
        // Given a sink that is not running yet, when 100 records are logged
        let logger = sinkLogger(sink)
        for number in 0..<100 { logger.info("record \(number)") }
        // Then once it runs, 10 are written and 90 reported as dropped
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await sink.run() }
            await sink.flush()
            group.cancelAll()
            try await group.waitForAll()
        }
        let lines = readLines(configuration.filePath)
        #expect(lines.filter { $0.contains("INFO: record ") }.count == 10)
        #expect(lines.contains { $0.contains("WARNING: 90 log records were dropped: the log buffer (10 records) was full") })
    }

    @Test("Graceful shutdown writes everything logged before it")
    func drainsOnShutdown() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let configuration = LogConfiguration(directory: directory.path, maxBytes: 0)
        try await withRunningSink(configuration) { sink in
            let logger = sinkLogger(sink)
            for number in 0..<5000 { logger.info("record \(number)") }
        }
        let lines = readLines(configuration.filePath)
        #expect(lines.count == 5001)
        #expect(lines.last?.contains("INFO: record 4999 [in") == true)
    }

    @Test("Metadata of the logger, its provider and the call: each key once, the call's over the provider's over the logger's")
    func metadataPrecedence() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let configuration = LogConfiguration(directory: directory.path)
        try await withRunningSink(configuration) { sink in
            var logger = Logger(label: "test", factory: sink.makeHandler)
            logger[metadataKey: "user"] = "from-logger"
            logger[metadataKey: "route"] = "/index"
            logger.handler.metadataProvider = Logger.MetadataProvider { ["user": "from-provider", "request": "r1"] }
            logger.info("first")
            logger.info("second", metadata: ["user": "from-call"])
            await sink.flush()
        }
        let lines = readLines(configuration.filePath)
        #expect(lines.count == 3, "\(lines)")
        #expect(lines[1].contains(" INFO: first request=r1 route=/index user=from-provider [in "), "\(lines[1])")
        #expect(lines[2].contains(" INFO: second request=r1 route=/index user=from-call [in "), "\(lines[2])")
    }

    @Test("The mail marker keeps a record out of mail from the call's, the provider's or the logger's metadata", arguments: [
        "call", "provider", "logger",
    ])
    func mailMarkerFromAnyLayer(layer: String) async throws {
        let buffer = LogRecordBuffer(capacity: 4)
        var handler = LogSinkHandler(label: "test", buffer: buffer, logLevel: .info)
        let marker: Logger.Metadata = [LogSinkHandler.mailMetadataKey: .string(LogSink.suppressedMailValue)]
        switch layer {
        case "logger": handler.metadata = marker
        case "provider": handler.metadataProvider = Logger.MetadataProvider { marker }
        default: break
        }
        var logger = Logger(label: "test") { _ in handler }
        logger.logLevel = .info
        logger.error("failed", metadata: layer == "call" ? marker : nil)
        logger.error("failed, mailed", metadata: [LogSinkHandler.mailMetadataKey: "other"])
        let batch = try #require(await buffer.next())
        let records = batch.entries.compactMap { entry -> LogRecord? in
            if case .record(let record) = entry { record } else { nil }
        }
        // The second call's own "mail" value shadows a marker further down.
        #expect(records.map(\.isMailable) == [false, true])
    }

    @Test("The handler has value semantics for level and metadata")
    func handlerValueSemantics() throws {
        let sink = LogSink(configuration: LogConfiguration(directory: "/nonexistent-never-written"), mail: nil)
        var first = Logger(label: "first", factory: sink.makeHandler)
        first.logLevel = .debug
        first[metadataKey: "only-on"] = "first"
        var second = first
        second.logLevel = .error
        second[metadataKey: "only-on"] = "second"
        #expect(first.logLevel == .debug)
        #expect(second.logLevel == .error)
        #expect(first[metadataKey: "only-on"] == "first")
        #expect(second[metadataKey: "only-on"] == "second")
    }
}
