import Foundation
import Logging
import Microblog
import Synchronization

/// Producers logging through the real ``LogSink`` (its buffer, the rotating file writer, the mail queue and the mail
/// loop with its coalescing window and retry backoff, on virtual time) to a mail server that fails when the faults
/// say so, until the sink is idle.
///
/// After every run: every record logged is in the log files (the current one and its backups) exactly once, none was
/// dropped (the workload stays below the buffer's bound); every error record was mailed once, or the file says how
/// many were given up; no record is in two mails; the producers, the sink and its mail loop all ended.
package struct LogSinkScenario: SimulationScenario {
    package struct Outcome: Sendable {
        var logged: [String]
        var mailable: [String]
        var fileLines: [String]
        var mails: [String]
    }

    /// Producers and records each (drawn from the seed when nil).
    package var producers: Int?
    package var recordsEach: Int?
    /// One in how many mail attempts fails for now (a retry may help); a permanent failure is rarer.
    package var transientFailureRate = 4
    package var permanentFailureRate = 20

    package init(producers: Int? = nil, recordsEach: Int? = nil) {
        self.producers = producers
        self.recordsEach = recordsEach
    }

    package var choicePoints: Int { 80 }

    /// The producers and records each of `seed`'s workload.
    func size(seed: UInt64) -> (producers: Int, recordsEach: Int) {
        var random = SimulationRandom(seed: seed ^ 0x10_6511_4C)
        let drawnProducers = Int.random(in: 1...3, using: &random)
        let drawnRecords = Int.random(in: 2...6, using: &random)
        return (producers ?? drawnProducers, recordsEach ?? drawnRecords)
    }

    package func smaller(seed: UInt64) -> [LogSinkScenario] {
        let (producers, recordsEach) = size(seed: seed)
        var smaller: [LogSinkScenario] = []
        if producers > 1 { smaller.append(LogSinkScenario(producers: producers - 1, recordsEach: recordsEach)) }
        if recordsEach > 1 { smaller.append(LogSinkScenario(producers: producers, recordsEach: recordsEach - 1)) }
        return smaller
    }

    package func play(seed: UInt64, in context: SimulationContext) async -> Outcome {
        let (producers, recordsEach) = size(seed: seed)
        context.note("workload: \(producers) producers, \(recordsEach) records each")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("simulation-log-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = SimulatedMailServer(context: context, transientFailureRate: transientFailureRate, permanentFailureRate: permanentFailureRate)
        let clock = context.clock
        let sink = LogSink(
            // Small files, so that the workload rotates them; enough backups that rotation loses none of it.
            configuration: LogConfiguration(directory: directory, maxBytes: 600, backupCount: 40, bufferCapacity: 256),
            mail: MailConfiguration(server: "mail.example.com", admins: ["admin@example.com"]),
            mailPolicy: MailPolicy(coalescingWindow: .seconds(2), maxRecordsPerMail: 3, backoffBase: .seconds(1), maxAttempts: 3),
            runtime: LogSinkRuntime(
                executor: context.executor,
                transport: { _ in server },
                sleep: { try await clock.sleep(for: $0) }
            )
        )
        var logged: [String] = []
        var mailable: [String] = []
        for producer in 0..<producers {
            for record in 0..<recordsEach {
                logged.append("record \(producer)-\(record)")
                if record % 2 == 0 { mailable.append("record \(producer)-\(record)") }
            }
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await sink.run() }
            await withDiscardingTaskGroup { producersGroup in
                for producer in 0..<producers {
                    producersGroup.addTask {
                        let logger = Logger(label: "producer \(producer)") { sink.makeHandler(label: $0) }
                        for record in 0..<recordsEach {
                            logger.log(level: record % 2 == 0 ? .error : .info, "record \(producer)-\(record)")
                            await context.step("producer \(producer): logged record \(record)")
                        }
                    }
                }
            }
            await context.operation("wait until the sink is idle") { await sink.waitUntilIdle() }
            group.cancelAll()
        }
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let lines = files.sorted().flatMap { file -> [String] in
            let text = (try? String(contentsOfFile: directory + "/" + file, encoding: .utf8)) ?? ""
            return text.split(separator: "\n").map(String.init)
        }
        return Outcome(logged: logged, mailable: mailable, fileLines: lines, mails: server.bodies)
    }

    package func violations(of outcome: Outcome, seed: UInt64) -> [String] {
        var violations: [String] = []
        // A record's line: `<time> <LEVEL>: record 1-2 [in <file>:<line>]`, in the file and in a mail's body alike.
        func isLine(_ line: some StringProtocol, of record: String) -> Bool { line.contains(": \(record) [in ") }
        for record in outcome.logged {
            let count = outcome.fileLines.filter { isLine($0, of: record) }.count
            if count != 1 { violations.append("\(record) is in the log files \(count) times") }
        }
        if outcome.fileLines.contains(where: { $0.contains("dropped") }) {
            violations.append("records were dropped below the buffer's bound")
        }
        var undelivered = 0
        for record in outcome.mailable {
            let mailed = outcome.mails.filter { $0.split(separator: "\n").contains { isLine($0, of: record) } }.count
            if mailed > 1 { violations.append("\(record) was mailed \(mailed) times") }
            if mailed == 0 { undelivered += 1 }
        }
        let givenUp = outcome.fileLines.compactMap(Self.recordsGivenUp).reduce(0, +)
        if givenUp != undelivered {
            violations.append("\(undelivered) error records were not mailed, and the file reports \(givenUp) given up")
        }
        return violations
    }

    /// The records a give-up line in the file reports not mailed ("...; 2 records not mailed").
    private static func recordsGivenUp(_ line: String) -> Int? {
        guard line.contains("Error mail not delivered"), let range = line.range(of: #"; (\d+) records? not mailed"#, options: .regularExpression)
        else { return nil }
        return Int(line[range].dropFirst(2).prefix { $0.isNumber })
    }
}

/// A mail server on the simulation's schedule: a delivery takes a step, and fails for now or for good when the run's
/// faults say so; it keeps every body it accepted.
final class SimulatedMailServer: MailTransport {
    private let context: SimulationContext
    private let transientFailureRate: Int
    private let permanentFailureRate: Int
    private let accepted = Mutex<[String]>([])

    init(context: SimulationContext, transientFailureRate: Int, permanentFailureRate: Int) {
        self.context = context
        self.transientFailureRate = transientFailureRate
        self.permanentFailureRate = permanentFailureRate
    }

    var bodies: [String] { accepted.withLock { $0 } }

    func send(_ message: MailMessage) async throws(SMTPError) {
        await context.step("mail server: a message arrives")
        if context.fault("mail server: refuses for now", oneIn: transientFailureRate) {
            throw .transientReply(step: "DATA", code: 451, text: "try again later")
        }
        if context.fault("mail server: refuses for good", oneIn: permanentFailureRate) {
            throw .permanentReply(step: "DATA", code: 554, text: "rejected")
        }
        accepted.withLock { $0.append(message.body) }
        context.note("mail server: accepted a mail")
    }
}
