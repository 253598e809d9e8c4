import Logging
import Testing

@testable import Microblog

@Suite("Log line format")
struct LoggingFormatTests {
    private func record(_ level: Logger.Level, _ message: String, _ metadata: Logger.Metadata = [:]) -> LogRecord {
        var record = LogRecord(level: level, message: message, metadata: metadata, file: "Microblog/MainController.swift", line: 42)
        record.seconds = 1_795_687_200  // 2026-11-26 10:00:00 UTC
        record.nanoseconds = 123_456_789
        return record
    }

    @Test("A record is the tutorial's line, in UTC, with the file and line")
    func tutorialFormat() {
        let line = LogLineFormatter.format(record(.info, "message"))
        #expect(line == "2026-11-26 10:00:00,123 INFO: message [in Microblog/MainController.swift:42]\n")
    }

    @Test("Levels are named like Python's", arguments: [
        (Logger.Level.trace, "DEBUG"), (.debug, "DEBUG"), (.info, "INFO"), (.notice, "INFO"),
        (.warning, "WARNING"), (.error, "ERROR"), (.critical, "CRITICAL"),
    ])
    func levelNames(level: Logger.Level, name: String) {
        #expect(LogLineFormatter.format(record(level, "m")).contains(" \(name): m [in "))
    }

    @Test("Metadata comes as sorted key=value pairs before the location, quoted when needed")
    func metadata() {
        let line = LogLineFormatter.format(record(.error, "failed", ["user": "alice", "path": "/a b", "id": "7"]))
        #expect(line.hasSuffix(" ERROR: failed id=7 path=\"/a b\" user=alice [in Microblog/MainController.swift:42]\n"))
    }

    @Test("CR, LF and other control characters cannot break the line")
    func controlCharactersEscaped() {
        let line = LogLineFormatter.format(
            record(.warning, "evil\r\nname\u{1B}[31m\u{2028}x\\y", ["user": "bob\nINFO: forged"])
        )
        #expect(line.filter { $0 == "\n" || $0 == "\r\n" }.count == 1)
        #expect(line.hasSuffix("\n"))
        #expect(line.contains("evil\\r\\nname\\u{1B}[31m\\u{2028}x\\\\y"))
        #expect(line.contains("user=\"bob\\nINFO: forged\""))
        #expect(!line.unicodeScalars.dropLast().contains { $0.value < 0x20 })
    }

    @Test("#fileID is shown as is; a #filePath keeps its part from Sources/ or Tests/")
    func sourcePaths() {
        #expect(LogLineFormatter.sourcePath("/work/x/Sources/Microblog/A.swift") == "Sources/Microblog/A.swift")
        #expect(LogLineFormatter.sourcePath("MicroblogTests/B.swift") == "MicroblogTests/B.swift")
    }

    @Test("The mail configuration never shows its password")
    func passwordMasked() {
        let configuration = MailConfiguration(server: "smtp.example.com", username: "u", password: "hunter2", admins: ["a@b.c"])
        #expect(!String(describing: configuration).contains("hunter2"))
        #expect(!String(reflecting: configuration).contains("hunter2"))
        var dumped = ""
        dump(configuration, to: &dumped)
        #expect(!dumped.contains("hunter2"))
        #expect(String(describing: configuration).contains("********"))
    }
}
