import Foundation
import Logging
import Testing

@testable import Microblog

/// Requests and the log file when the file system refuses the log. The faults are real: `logs` replaced
/// by a regular file (open fails with ENOTDIR, even for root), a FIFO as the log file (open hangs until a reader
/// comes), and a small tmpfs filled up (mounting needs root).
@Suite("Log faults")
struct LogFaultTests {
    @Test("LOG_DIR is a regular file: pages answer as usual, a 500 still has its page, stderr says so once; logging resumes when the folder can be made")
    func liveServerWithBrokenLogDirectory() async throws {
        var env = try TestEnvironment()
        defer { env.removeFiles() }
        env.databaseFaults = DatabaseFaults(betweenPostWrites: { throw InjectedFault() })
        let logs = env.directory.appendingPathComponent("logs").path
        try "not a folder\n".write(toFile: logs, atomically: false, encoding: .utf8)
        let configuration = LogConfiguration(directory: logs)
        let path = configuration.filePath
        let recorder = DiagnosticsRecorder()
        let environment = env

        try await withRunning(recorder.sink(configuration)) { sink in
            let app = try await buildApplication(
                configuration: environment.configuration,
                dependencies: AppDependencies(logger: sinkLogger(sink), databaseFaults: environment.databaseFaults)
            )
            try await app.test(.live) { server in
                try await LiveClient.with(server) { live in
                    // Given a log file that cannot be opened, pages answer as usual
                    let browser = Browser(live)
                    let anonymous = try await browser.get("/index")
                    #expect(anonymous.status == .found, "\(anonymous.status)")
                    try await browser.signUp("alice")
                    for _ in 0..<10 {
                        let home = try await browser.get("/index")
                        #expect(home.status == .ok, "\(home.status)")
                    }
                    let failed = try await browser.post("/index", [("post", "boom")])
                    #expect(failed.status == .internalServerError, "\(failed.status)")
                    #expect(failed.body.firstMatch(of: /Reference: [0-9a-f]{8}/) != nil)

                    // Then the records are lost, counted, and reported on stderr once
                    await sink.flush()
                    let failing = await sink.fileHealth
                    #expect(failing.isFailing)
                    #expect(failing.outages == 1)
                    #expect(failing.lostRecords >= 2, "the startup and the ERROR at least: \(failing.lostRecords)")
                    #expect(recorder.reported == [
                        "microblog: log file: cannot open \(path): Not a directory (errno 20); "
                            + "log records are lost until it can be written again"
                    ])

                    // When the folder can be made again, the next ERROR is in the file after the loss
                    try FileManager.default.removeItem(atPath: logs)
                    let again = try await browser.post("/index", [("post", "boom again")])
                    #expect(again.status == .internalServerError, "\(again.status)")
                    await sink.flush()
                    let resumed = await sink.fileHealth
                    #expect(!resumed.isFailing)
                    #expect(resumed.lostRecords == failing.lostRecords)
                    #expect(recorder.reported.count == 2)
                    #expect(recorder.reported.last
                        == "microblog: log file: \(path) is written again; \(LogFileMonitor.records(resumed.lostRecords)) lost")
                    let lines = readLines(path)
                    #expect(lines.first?.contains(
                        " WARNING: \(LogFileMonitor.records(resumed.lostRecords)) lost: cannot open \(path): Not a directory (errno 20) [in"
                    ) == true, "\(lines)")
                    #expect(lines.filter { $0.contains(" ERROR: Exception on POST /index") }.count == 1, "\(lines)")
                }
            }
        }
    }

    @Test("A log file whose open(2) hangs (a FIFO nobody reads) holds up no request; the records arrive once it opens")
    func hangingLogFileBlocksNoRequest() async throws {
        let env = try TestEnvironment()
        defer { env.removeFiles() }
        let logs = env.directory.appendingPathComponent("logs").path
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        let configuration = LogConfiguration(directory: logs)
        // Given a FIFO as the log file: the sink's open(O_WRONLY) waits for a reader, as on a hung file system
        #expect(mkfifo(configuration.filePath, 0o644) == 0)
        let environment = env
        let reader = try await withRunning(DiagnosticsRecorder().sink(configuration)) { sink in
            let app = try await buildApplication(
                configuration: environment.configuration,
                dependencies: AppDependencies(logger: sinkLogger(sink))
            )
            // When 50 pages are asked for while the sink hangs (never awaited here: the sink is busy)
            var failure: (any Error)?
            do {
                try await app.test(.live) { server in
                    try await LiveClient.with(server) { live in
                        let browser = Browser(live)
                        try await browser.signUp("alice")
                        for _ in 0..<50 {
                            let home = try await browser.get("/index")
                            #expect(home.status == .ok, "\(home.status)")
                        }
                    }
                }
            } catch {
                failure = error
            }
            // Then, once a reader opens the FIFO (also when the pages failed: the sink must be able to stop),
            // everything logged meanwhile arrives
            let reader = open(configuration.filePath, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
            await sink.flush()
            if let failure {
                close(reader)
                throw failure
            }
            return reader
        }
        defer { close(reader) }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        let count = read(reader, &buffer, buffer.count)
        let text = String(decoding: buffer.prefix(max(0, count)), as: UTF8.self)
        #expect(text.contains(" INFO: Microblog startup [in "), "\(text)")
        #expect(text.contains(" INFO: User logged in "), "\(text)")
        #expect(reader >= 0)
    }

    @Test("Disk full: whole lines only, losses counted, one stderr line for many failed batches; logging resumes when space returns",
          .enabled(if: getuid() == 0, "mounting a tmpfs needs root"))
    func diskFull() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await SmallDisk.with(kilobytes: 64, in: URL(fileURLWithPath: directory.path)) { disk in
            let configuration = LogConfiguration(directory: disk.path + "/logs", maxBytes: 0)
            let path = configuration.filePath
            let recorder = DiagnosticsRecorder()
            try await withRunning(recorder.sink(configuration)) { sink in
                let logger = sinkLogger(sink)
                logger.info("before the disk is full")
                await sink.flush()

                // Given a full disk, where the log file's last page still has room for a few lines
                let filler = try disk.fill()
                // When 10 batches of 20 records are logged
                for batch in 0..<10 {
                    for number in 0..<20 { logger.info("batch \(batch) record \(number) \(String(repeating: "y", count: 60))") }
                    await sink.flush()
                }
                // Then what was not written is counted, and stderr has one line
                let failing = await sink.fileHealth
                let written = readLines(path).filter { $0.contains(" record ") }.count
                #expect(written > 0 && written < 200, "the log file's last page took some: \(written)")
                #expect(failing.lostRecords == 200 - written)
                #expect(failing.isFailing && failing.outages == 1)
                #expect(recorder.reported == [
                    "microblog: log file: cannot write \(path): No space left on device (errno 28); "
                        + "log records are lost until it can be written again"
                ])

                // When space returns, logging resumes
                try FileManager.default.removeItem(atPath: filler)
                logger.info("after the disk is freed")
                await sink.flush()
                let resumed = await sink.fileHealth
                #expect(!resumed.isFailing)
                #expect(recorder.reported.last
                    == "microblog: log file: \(path) is written again; \(LogFileMonitor.records(failing.lostRecords)) lost")
                #expect(recorder.reported.count == 2)

                // Every line is whole; the WARNINGs state every loss; the new record is last
                let lines = readLines(path)
                // A glued or torn line has no match (the messages have no `[`).
                let whole = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (INFO|WARNING): [^\[]* \[in \w+\/\w+\.swift:\d+\]$/
                for line in lines {
                    #expect(line.wholeMatch(of: whole) != nil, "torn: \(line)")
                }
                let stated = lines.compactMap { line in
                    line.firstMatch(of: /\ WARNING:\ (\d+)\ log\ records?\ (?:was|were)\ lost:\ cannot\ write\ /).flatMap { Int($0.1) }
                }
                #expect(stated.reduce(0, +) == failing.lostRecords, "\(stated)")
                #expect(lines.last?.contains(" INFO: after the disk is freed [in ") == true)
            }
        }
    }
}
