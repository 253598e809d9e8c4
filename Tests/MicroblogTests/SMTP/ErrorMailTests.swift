import Foundation
import Logging
import Testing

@testable import Microblog

@Suite("Error mail from the log sink")
struct SMTPErrorMailTests {
    private func quickPolicy(window: Duration = .milliseconds(50), queue: Int = 1000, perMail: Int = 200) -> MailPolicy {
        MailPolicy(
            coalescingWindow: window, queueCapacity: queue, maxRecordsPerMail: perMail,
            backoffBase: .milliseconds(20), backoffMax: .milliseconds(200), maxAttempts: 1000
        )
    }

    @Test("An ERROR record is mailed to the admins as 'Microblog Failure'; INFO and WARNING are not")
    func errorIsMailed() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let server = try await SMTPTestServer.start(in: directory)
        defer { server.stop() }
        let mail = MailConfiguration(server: "127.0.0.1", port: server.port, admins: ["admin@example.com"])
        let configuration = LogConfiguration(directory: directory.path + "/logs")
        try await withRunningSink(configuration, mail: mail, policy: quickPolicy()) { sink in
            let logger = sinkLogger(sink)
            logger.info("fine")
            logger.warning("hmm")
            logger.error("Exception on /index [GET]", metadata: ["request_id": "r-1"])
            await sink.waitUntilIdle()
        }
        let mails = try server.messages().map(ReceivedMail.init)
        try #require(mails.count == 1)
        #expect(mails[0].header("Subject") == "Microblog Failure")
        #expect(mails[0].header("From") == "no-reply@127.0.0.1")
        #expect(mails[0].header("To") == "admin@example.com")
        #expect(mails[0].bodyLines.first == "Microblog logged 1 error record:")
        #expect(mails[0].bodyLines.contains { $0.contains(" ERROR: Exception on /index [GET] request_id=r-1 [in MicroblogTests/ErrorMailTests.swift:") })
        #expect(!mails[0].raw.contains("fine") && !mails[0].raw.contains("hmm"))
    }

    @Test("Server down, then up: the mail is retried with backoff and delivered")
    func downThenUp() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        // The real server runs throughout, on a port the kernel chose; the way to it goes through a proxy the test
        // switches off and on (no port is picked free and hoped to stay free).
        let server = try await SMTPTestServer.start(in: directory)
        defer { server.stop() }
        let configuration = LogConfiguration(directory: directory.path)
        try await SwitchableProxy.with(toHost: "127.0.0.1", port: server.port) { proxy in
            proxy.switchOff()
            let mail = MailConfiguration(server: "127.0.0.1", port: proxy.port, admins: ["admin@example.com"])
            try await withRunningSink(configuration, mail: mail, policy: quickPolicy()) { sink in
                var events = sink.mailEvents.makeAsyncIterator()
                sinkLogger(sink).critical("database is gone")
                // Given the first attempt failed (the server cannot be reached)
                guard case .attemptFailed(let error, 1, _) = await events.next() else {
                    Issue.record("expected a failed first attempt")
                    return
                }
                #expect(!error.isPermanent)
                // When the server can be reached again
                proxy.switchOn()
                // Then a later attempt delivers it
                while let event = await events.next() {
                    if case .delivered(let records, _, let attempt) = event {
                        #expect(records == 1)
                        #expect(attempt > 1)
                        break
                    }
                    guard case .attemptFailed = event else {
                        Issue.record("unexpected \(event)")
                        break
                    }
                }
                await sink.waitUntilIdle()
            }
        }
        let mails = try server.messages().map(ReceivedMail.init)
        #expect(mails.count == 1)
        #expect(mails.first?.bodyLines.contains { $0.contains("CRITICAL: database is gone") } == true)
        // The failed attempts are in the file, marked so they never become mail themselves.
        let lines = readLines(configuration.filePath)
        #expect(lines.contains { $0.contains("WARNING: Error mail attempt 1 failed") && $0.contains("mail=suppressed") })
    }

    @Test("A storm of 1,000 errors within one coalescing window gives 5 mails (200 records each) that together list every record")
    func storm() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let server = try await SMTPTestServer.start(in: directory)
        defer { server.stop() }
        let mail = MailConfiguration(server: "127.0.0.1", port: server.port, admins: ["admin@example.com"])
        let configuration = LogConfiguration(directory: directory.path, maxBytes: 0)
        // A window longer than the test: the whole storm falls into it however slowly the machine logs, and the
        // shutdown that ends the run sends what the window holds, without waiting for its end.
        try await withRunningSink(configuration, mail: mail, policy: quickPolicy(window: .seconds(3600))) { sink in
            let logger = sinkLogger(sink)
            for number in 0..<1000 { logger.error("storm record \(number) end") }
        }
        let mails = try server.messages().map(ReceivedMail.init)
        #expect(mails.count == 5, "\(mails.count) mails")
        var seen = Set<Int>()
        for mail in mails {
            #expect(mail.header("Subject") == "Microblog Failure")
            for line in mail.bodyLines {
                if let match = line.firstMatch(of: /storm record (\d+) end/), let number = Int(match.1) {
                    #expect(seen.insert(number).inserted, "record \(number) mailed twice")
                }
            }
        }
        #expect(seen == Set(0..<1000))
    }

    @Test("Past the mail queue bound, records are dropped and the mails state how many")
    func stormPastTheBound() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let server = try await SMTPTestServer.start(in: directory)
        defer { server.stop() }
        let mail = MailConfiguration(server: "127.0.0.1", port: server.port, admins: ["admin@example.com"])
        let configuration = LogConfiguration(directory: directory.path, maxBytes: 0)
        try await withRunningSink(configuration, mail: mail, policy: quickPolicy(window: .milliseconds(200), queue: 100, perMail: 50)) { sink in
            let logger = sinkLogger(sink)
            for number in 0..<1000 { logger.error("storm record \(number) end") }
            await sink.waitUntilIdle()
        }
        var listed = 0
        var dropped = 0
        for mail in try server.messages().map(ReceivedMail.init) {
            listed += mail.bodyLines.filter { $0.contains("storm record") }.count
            if let match = mail.bodyLines.first?.firstMatch(of: /; (\d+) more were dropped because the mail queue was full \(bound 100\)/) {
                dropped += Int(match.1) ?? 0
            }
        }
        #expect(dropped > 0)
        #expect(listed + dropped == 1000)
        // Every record is still in the file.
        #expect(readLines(configuration.filePath).filter { $0.contains("storm record") }.count == 1000)
    }

    @Test("421 from the server is retried and the mail delivered")
    func busyIsRetried() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let server = try await FakeSMTPServer.start(.busyOnFirstConnection)
        let mail = MailConfiguration(server: "127.0.0.1", port: server.port, admins: ["admin@example.com"])
        let events = try await withRunningSink(LogConfiguration(directory: directory.path), mail: mail, policy: quickPolicy()) { sink in
            var iterator = sink.mailEvents.makeAsyncIterator()
            sinkLogger(sink).error("boom")
            await sink.waitUntilIdle()
            return [await iterator.next(), await iterator.next()]
        }
        guard case .attemptFailed(.transientReply(_, 421, _), 1, _)? = events[0] else {
            Issue.record("expected a 421 on the first attempt, got \(String(describing: events[0]))")
            return
        }
        #expect(events[1] == .delivered(records: 1, dropped: 0, attempt: 2))
        #expect(server.current == FakeSMTPServer.Counts(connections: 2, delivered: 1))
        await server.stop()
    }

    @Test("A 5xx reply is not retried; the failure is logged to the file and never mailed")
    func permanentFailureNotRetried() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let server = try await FakeSMTPServer.start(.rejectSender)
        let mail = MailConfiguration(server: "127.0.0.1", port: server.port, admins: ["admin@example.com"])
        let configuration = LogConfiguration(directory: directory.path)
        let event = try await withRunningSink(configuration, mail: mail, policy: quickPolicy()) { sink in
            var iterator = sink.mailEvents.makeAsyncIterator()
            sinkLogger(sink).error("boom")
            await sink.waitUntilIdle()
            return await iterator.next()
        }
        #expect(event == .gaveUp(.permanentReply(step: "MAIL FROM", code: 550, text: "5.7.1 sender rejected"), records: 1, attempts: 1))
        // One connection only: the failure report (an ERROR itself) produced no further mail.
        #expect(server.current.connections == 1)
        let lines = readLines(configuration.filePath)
        #expect(lines.contains { $0.contains("ERROR: Error mail not delivered after 1 attempt (permanent)") && $0.contains("mail=suppressed") })
        await server.stop()
    }
}
