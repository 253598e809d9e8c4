import Foundation
import Logging
import Testing

@testable import Microblog

@Suite("Rotating log file")
struct LoggingRotationTests {
    @Test("Rotation renames like RotatingFileHandler: .1 newest, at most backupCount backups, no file over the limit")
    func rotationOrder() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let writer = RotatingFileWriter(directory: directory.path + "/logs", fileName: "microblog.log", maxBytes: 100, backupCount: 3)
        // Given 20 lines of 40 bytes, 2 per file
        for index in 0..<20 {
            writer.write(lines: [String(format: "line %03d ", index) + String(repeating: "x", count: 30) + "\n"])
        }
        let base = directory.path + "/logs/microblog.log"
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path + "/logs").sorted()
        #expect(files == ["microblog.log", "microblog.log.1", "microblog.log.2", "microblog.log.3"])
        #expect(readLines(base).map { String($0.prefix(8)) } == ["line 018", "line 019"])
        #expect(readLines(base + ".1").map { String($0.prefix(8)) } == ["line 016", "line 017"])
        #expect(readLines(base + ".3").map { String($0.prefix(8)) } == ["line 012", "line 013"])
        for file in files {
            let size = try FileManager.default.attributesOfItem(atPath: directory.path + "/logs/" + file)[.size] as? Int
            #expect((size ?? .max) <= 100)
        }
    }

    @Test("A record larger than the limit is cut with a marker on a UTF-8 boundary")
    func oversizedRecordCut() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let writer = RotatingFileWriter(directory: directory.path, fileName: "m.log", maxBytes: 200, backupCount: 2)
        writer.write(lines: ["short\n", String(repeating: "é", count: 500) + "\n"])
        let data = try Data(contentsOf: URL(fileURLWithPath: directory.file("m.log")))
        #expect(data.count <= 200)
        let text = try #require(String(data: data, encoding: .utf8))
        #expect(text.hasSuffix(" bytes omitted]\n"))
        #expect(text.hasPrefix("éé"))
        #expect(readLines(directory.file("m.log.1")) == ["short"])
    }

    @Test("8 concurrent writers x 10,000 lines at 10 KB: whole lines, files within the limit, retained lines contiguous")
    func concurrentWritersThroughTheSink() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let configuration = LogConfiguration(directory: directory.path, maxBytes: 10240, backupCount: 10, bufferCapacity: 100_000)
        try await withRunningSink(configuration) { sink in
            // When 8 tasks log 10,000 numbered lines each, concurrently
            await withTaskGroup(of: Void.self) { group in
                for writer in 0..<8 {
                    group.addTask {
                        let logger = sinkLogger(sink)
                        for number in 0..<10_000 {
                            logger.info("writer=\(writer) seq=\(number)")
                        }
                    }
                }
            }
            await sink.flush()
        }
        // Then
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(names.count <= 11)
        let ordered = (1...10).reversed().map { "microblog.log.\($0)" }.filter(names.contains) + ["microblog.log"]
        #expect(Set(ordered) == Set(names))
        let pattern = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO: writer=(\d) seq=(\d+) \[in MicroblogTests\/RotatingFileWriterTests\.swift:\d+\]$/
        var lastSeen: [Int: Int] = [:]
        var lineCount = 0
        for name in ordered {
            let path = directory.file(name)
            let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? .max
            #expect(size <= 10240, "\(name) has \(size) bytes")
            for line in readLines(path) where !line.contains("Microblog startup") {
                #expect(!line.contains("dropped"))
                lineCount += 1
                guard let match = line.wholeMatch(of: pattern), let writer = Int(match.1), let number = Int(match.2) else {
                    Issue.record("torn or interleaved line in \(name): \(line)")
                    continue
                }
                if let previous = lastSeen[writer] {
                    #expect(number == previous + 1, "writer \(writer): \(previous) followed by \(number)")
                }
                lastSeen[writer] = number
            }
        }
        #expect(lineCount > 500)
        // The retained lines are a suffix of the write order: every writer seen ends at its last line.
        #expect(!lastSeen.isEmpty)
        #expect(lastSeen.values.allSatisfy { $0 == 9999 }, "\(lastSeen)")
    }
}
