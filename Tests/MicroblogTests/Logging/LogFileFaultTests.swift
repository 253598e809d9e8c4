import Foundation
import Logging
import Testing

@testable import Microblog

/// The log file when the file system refuses it. The faults are real and need no root: a directory
/// where the log file or a backup should be (open and rename fail with EISDIR even for root).
@Suite("Log file faults")
struct LogFileFaultTests {
    /// A 40-byte line, numbered.
    static func line(_ number: Int) -> String {
        String(format: "line %03d ", number) + String(repeating: "x", count: 30) + "\n"
    }

    @Test("A rename that fails during rotation touches no backup: the file grows instead, and rotation resumes once the obstacle is gone")
    func failedRenameKeepsEveryBackup() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let base = directory.file("m.log")
        try "backup one\n".write(toFile: base + ".1", atomically: false, encoding: .utf8)
        try "backup two\n".write(toFile: base + ".2", atomically: false, encoding: .utf8)
        // Given slot 3 taken by a non-empty directory: rename(m.log.2, m.log.3) fails with EISDIR
        try FileManager.default.createDirectory(atPath: base + ".3/obstacle", withIntermediateDirectories: true)
        let writer = RotatingFileWriter(directory: directory.path, fileName: "m.log", maxBytes: 100, backupCount: 3)

        // When five 40-byte lines are written, in five writes, to a file rotated at 100 bytes
        let outcomes = (0..<5).map { writer.write(lines: [Self.line($0)]) }

        // Then every backup is where it was, the current file has all five lines, and each write says why
        #expect(readLines(base + ".1") == ["backup one"])
        #expect(readLines(base + ".2") == ["backup two"])
        #expect(readLines(base).map { String($0.prefix(8)) } == ["line 000", "line 001", "line 002", "line 003", "line 004"])
        let refusal = LogFileError(action: "rename \(base).2 to \(base).3", code: EISDIR)
        #expect(outcomes.map(\.rotationFailure) == [nil, nil, refusal, refusal, refusal])
        #expect(outcomes.allSatisfy { $0.written == 1 && $0.lost == 0 && $0.failure == nil && !$0.rotated })
        #expect(refusal.description == "cannot rename \(base).2 to \(base).3: Is a directory (errno 21)")

        // When the obstacle is gone, the next write rotates as usual
        try FileManager.default.removeItem(atPath: base + ".3")
        let resumed = writer.write(lines: [Self.line(5)])
        #expect(resumed == LogFileWriteOutcome(written: 1, rotated: true))
        #expect(readLines(base).map { String($0.prefix(8)) } == ["line 005"])
        #expect(readLines(base + ".1").count == 5)
        #expect(readLines(base + ".2") == ["backup one"])
        #expect(readLines(base + ".3") == ["backup two"])
    }

    @Test("A rotation after an interrupted one fills the gap it left: no backup is shifted out")
    func gapIsFilledNotShiftedOn() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let base = directory.file("m.log")
        // Given what a rotation leaves when its last rename fails: the backups moved up, slot 1 free
        try "backup two\n".write(toFile: base + ".2", atomically: false, encoding: .utf8)
        try "backup three\n".write(toFile: base + ".3", atomically: false, encoding: .utf8)
        let writer = RotatingFileWriter(directory: directory.path, fileName: "m.log", maxBytes: 100, backupCount: 3)

        // When three 40-byte lines are written to a file rotated at 100 bytes
        for number in 0..<3 { writer.write(lines: [Self.line(number)]) }

        // Then the file becomes backup 1 and the others stay
        #expect(readLines(base).map { String($0.prefix(8)) } == ["line 002"])
        #expect(readLines(base + ".1").map { String($0.prefix(8)) } == ["line 000", "line 001"])
        #expect(readLines(base + ".2") == ["backup two"])
        #expect(readLines(base + ".3") == ["backup three"])
    }

    @Test("A failed rotation is reported once on stderr and once in the file; no record is lost, fileHealth counts it, and rotation resumes")
    func failedRotationIsReportedOnce() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let configuration = LogConfiguration(directory: directory.path, maxBytes: 1000, backupCount: 2)
        let path = configuration.filePath
        try FileManager.default.createDirectory(atPath: path + ".1/obstacle", withIntermediateDirectories: true)
        try "old backup\n".write(toFile: path + ".2", atomically: false, encoding: .utf8)
        let recorder = DiagnosticsRecorder()

        // When 40 records of about 120 bytes are written in 40 batches to a file rotated at 1000 bytes
        let health = try await withRunning(recorder.sink(configuration)) { sink in
            let logger = sinkLogger(sink)
            for number in 0..<40 {
                logger.info("record \(number) \(String(repeating: "z", count: 40))")
                await sink.flush()
            }
            let health = await sink.fileHealth
            // When the obstacle is gone, the next record rotates the file
            try FileManager.default.removeItem(atPath: path + ".1")
            logger.info("after the obstacle")
            await sink.flush()
            return health
        }

        // Then one line on stderr, one WARNING in the file, every record in the file, the backups untouched
        let expected = "cannot rename \(path).1 to \(path).2: Not a directory (errno 20); "
            + "no backup is touched and \(path) grows past 1000 bytes until it can be rotated"
        #expect(recorder.reported == ["microblog: log file: " + expected, "microblog: log file: \(path) is rotated again"])
        #expect(readLines(path).count == 1 && readLines(path).first?.contains(" INFO: after the obstacle [in ") == true)
        let lines = readLines(path + ".1")
        #expect(lines.filter { $0.contains(" WARNING: ") }.count == 1)
        #expect(lines.contains { $0.contains(" WARNING: " + expected + " [in Microblog/LogSink.swift:") })
        #expect(lines.filter { $0.contains("INFO: record ") }.count == 40)
        #expect(readLines(path + ".2") == ["old backup"])
        #expect(health.lostRecords == 0)
        #expect(health.failedRotations > 30, "tried again on every batch: \(health.failedRotations)")
        #expect(health.outages == 0 && !health.isFailing)
    }

    @Test("An unopenable log file: records are counted as lost, stderr says so once, and the file resumes with a WARNING stating the loss")
    func unopenableFileResumes() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let configuration = LogConfiguration(directory: directory.path + "/logs")
        let path = configuration.filePath
        // Given a directory where the log file should be: open fails with EISDIR
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let recorder = DiagnosticsRecorder()

        try await withRunning(recorder.sink(configuration)) { sink in
            let logger = sinkLogger(sink)
            // When 20 batches of 5 records are logged
            for batch in 0..<20 {
                for number in 0..<5 { logger.info("batch \(batch) record \(number)") }
                await sink.flush()
            }
            // Then the startup record and all 100 are lost and counted; stderr has one line
            let failing = await sink.fileHealth
            #expect(failing.lostRecords == 101)
            #expect(failing.outages == 1)
            #expect(failing.isFailing)
            #expect(failing.lastError == "cannot open \(path): Is a directory (errno 21)")
            #expect(recorder.reported == [
                "microblog: log file: cannot open \(path): Is a directory (errno 21); log records are lost until it can be written again"
            ])

            // When the directory is gone, the next record is written after a WARNING stating the loss
            try FileManager.default.removeItem(atPath: path)
            logger.info("back")
            await sink.flush()
            let resumed = await sink.fileHealth
            #expect(resumed.lostRecords == 101)
            #expect(!resumed.isFailing)
            #expect(recorder.reported.count == 2)
            #expect(recorder.reported.last == "microblog: log file: \(path) is written again; 101 log records were lost")
        }
        let lines = readLines(path)
        #expect(lines.count == 2, "\(lines)")
        #expect(lines.first?.contains(
            " WARNING: 101 log records were lost: cannot open \(path): Is a directory (errno 21) [in Microblog/LogSink.swift:"
        ) == true)
        #expect(lines.last?.contains(" INFO: back [in ") == true)
    }

    @Test("Stopping while the file cannot be written: stderr states the loss at shutdown")
    func stoppingWhileFailing() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let configuration = LogConfiguration(directory: directory.path)
        try FileManager.default.createDirectory(atPath: configuration.filePath + "/obstacle", withIntermediateDirectories: true)
        let recorder = DiagnosticsRecorder()
        try await withRunning(recorder.sink(configuration)) { sink in
            let logger = sinkLogger(sink)
            for number in 0..<3 { logger.info("record \(number)") }
            await sink.flush()
        }
        #expect(recorder.reported == [
            "microblog: log file: cannot open \(configuration.filePath): Is a directory (errno 21); "
                + "log records are lost until it can be written again",
            "microblog: log file: stopping while \(configuration.filePath) cannot be written; 4 log records were lost",
        ])
    }

    @Test("A flapping file: at most one stderr line per quiet period beyond the first outage's pair; every loss is summed up")
    func flappingOutagesAreRateLimited() {
        var monitor = LogFileMonitor(path: "logs/m.log", maxBytes: 10240, quietPeriod: .seconds(60))
        let start = ContinuousClock.now
        func at(_ seconds: Int) -> ContinuousClock.Instant { start.advanced(by: .seconds(seconds)) }
        let full = LogFileError(action: "write logs/m.log", code: ENOSPC)
        // A write of the pending notices and `records` records that fails at once, or succeeds.
        func fail(_ records: Int, at second: Int) -> [String] {
            let notices = monitor.notices()
            return monitor.record(LogFileWriteOutcome(lost: notices.count + records, failure: full), notices: notices, at: at(second))
        }
        func write(at second: Int) -> [String] {
            let notices = monitor.notices()
            return monitor.record(LogFileWriteOutcome(written: notices.count + 1), notices: notices, at: at(second))
        }
        let started = "microblog: log file: cannot write logs/m.log: No space left on device (errno 28); "
            + "log records are lost until it can be written again"

        // The first outage: announced, then summed up
        #expect(fail(3, at: 0) == [started])
        #expect(monitor.notices() == [
            LogFileNotice(kind: .loss(3), message: "3 log records were lost: cannot write logs/m.log: No space left on device (errno 28)")
        ])
        #expect(write(at: 1) == ["microblog: log file: logs/m.log is written again; 3 log records were lost"])
        #expect(monitor.notices().isEmpty)
        // Two more within the quiet period: silent on stderr, stated in the file
        #expect(fail(4, at: 2).isEmpty)
        #expect(write(at: 3).isEmpty)
        #expect(fail(5, at: 4).isEmpty)
        #expect(monitor.notices().map(\.kind) == [.loss(5)])
        // A notice lost with its batch is not counted as a record, and stays pending
        #expect(fail(2, at: 5).isEmpty)
        #expect(monitor.notices().map(\.kind) == [.loss(7)])
        #expect(write(at: 6).isEmpty)
        #expect(monitor.notices().isEmpty)
        // After the quiet period, the first successful write sums up what was not
        #expect(write(at: 62) == ["microblog: log file: logs/m.log is written again; 11 log records were lost in 2 outages"])
        // An outage that begins in the quiet period and lasts is announced once the period is over
        #expect(fail(1, at: 70).isEmpty)
        #expect(fail(1, at: 100).isEmpty)
        #expect(fail(1, at: 122) == [started])
        #expect(fail(1, at: 200).isEmpty)
        #expect(write(at: 201) == ["microblog: log file: logs/m.log is written again; 4 log records were lost"])
        #expect(monitor.finish().isEmpty)
        // Losses never summed up are stated at shutdown
        #expect(fail(2, at: 202).isEmpty)
        #expect(write(at: 203).isEmpty)
        #expect(monitor.finish() == ["microblog: log file: stopping; 2 log records were lost in 1 outage since the last report"])
        #expect(monitor.health.lostRecords == 20)
        #expect(monitor.health.outages == 5)
        #expect(!monitor.health.isFailing)
        #expect(monitor.health.lastError == full.description)
    }
}
