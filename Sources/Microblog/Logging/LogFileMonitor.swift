/// Turns what the writer did into counts (``LogFileHealth``), lines for the standard error and notices for the
/// file itself: every outage is reported and explained, and a full disk never costs a line per lost record.
///
/// On stderr (each line begins `microblog: log file: `):
/// - `cannot write logs/microblog.log: No space left on device (errno 28); log records are lost until it can be
///   written again` when an outage begins (`cannot open ...` when the file cannot be opened). Nothing more while it
///   lasts. An outage that begins less than `quietPeriod` after the previous line (a disk at the edge of full
///   flaps) is announced at its first failure after the quiet period, if it still lasts then.
/// - `logs/microblog.log is written again; 42 log records were lost` when an announced outage ends, counting every
///   record lost since the previous such line (`... lost in 3 outages` when unannounced ones came between). Losses
///   of outages never announced are summed up at the first successful write after the quiet period.
/// - `stopping while logs/microblog.log cannot be written; 42 log records were lost` at shutdown during an outage
///   (`stopping; 42 log records were lost in 3 outages since the last report` when unannounced losses remain).
/// - `cannot rename logs/microblog.log.2 to logs/microblog.log.3: Is a directory (errno 21); no backup is touched
///   and logs/microblog.log grows past 10240 bytes until it can be rotated` at the first rotation that fails, and
///   `logs/microblog.log is rotated again` at the next one that succeeds.
///
/// In the file, as WARNING records written before the next records (see ``notices()``): `42 log records were
/// lost: cannot write ...` after an outage, so the gap is explained where it is; and the rotation line above.
struct LogFileMonitor {
    static let prefix = "microblog: log file: "

    let path: String
    let maxBytes: Int
    let quietPeriod: Duration
    private(set) var health = LogFileHealth()
    /// When the last line about an outage went to stderr.
    private var lastReport: ContinuousClock.Instant?
    /// An outage start is on stderr and its summary not yet.
    private var announced = false
    private var unsummarisedRecords = 0
    private var unsummarisedOutages = 0
    /// Lost records no notice in the file has stated yet, and why the last write failed.
    private var unnoticedRecords = 0
    private var writeFailure: LogFileError?
    /// Why rotation fails, while it does; whether the file has not been told yet.
    private var rotationFailure: LogFileError?
    private var rotationNoticePending = false

    init(path: String, maxBytes: Int, quietPeriod: Duration) {
        self.path = path
        self.maxBytes = maxBytes
        self.quietPeriod = quietPeriod
    }

    /// The WARNING records to write before the next records; pass them back to ``record(_:notices:at:)``.
    func notices() -> [LogFileNotice] {
        var notices: [LogFileNotice] = []
        if unnoticedRecords > 0 {
            let cause = writeFailure.map { ": \($0)" } ?? ""
            notices.append(LogFileNotice(kind: .loss(unnoticedRecords), message: "\(Self.records(unnoticedRecords)) lost\(cause)"))
        }
        if rotationNoticePending, let rotationFailure {
            notices.append(LogFileNotice(kind: .rotation, message: rotationText(rotationFailure)))
        }
        return notices
    }

    /// Accounts for one write of `notices` followed by records; returns the lines for stderr (usually none).
    mutating func record(_ outcome: LogFileWriteOutcome, notices: [LogFileNotice], at now: ContinuousClock.Instant) -> [String] {
        let noticed = min(outcome.written, notices.count)
        for notice in notices.prefix(noticed) {
            switch notice.kind {
            case .loss(let count): unnoticedRecords -= count
            case .rotation: rotationNoticePending = false
            }
        }
        let lost = outcome.lost - (notices.count - noticed)
        health.lostRecords += lost
        unsummarisedRecords += lost
        unnoticedRecords += lost

        var lines: [String] = []
        if let failure = outcome.rotationFailure {
            health.failedRotations += 1
            health.lastError = failure.description
            if rotationFailure == nil {
                lines.append(Self.prefix + rotationText(failure))
                rotationNoticePending = true
            }
            rotationFailure = failure
        } else if outcome.rotated, rotationFailure != nil {
            rotationFailure = nil
            rotationNoticePending = false
            lines.append(Self.prefix + "\(path) is rotated again")
        }

        if let failure = outcome.failure {
            if !health.isFailing {
                health.isFailing = true
                health.outages += 1
                unsummarisedOutages += 1
            }
            health.lastError = failure.description
            writeFailure = failure
            if !announced, mayReport(at: now) {
                lines.append(Self.prefix + "\(failure); log records are lost until it can be written again")
                announced = true
                lastReport = now
            }
        } else if outcome.written > 0 {
            health.isFailing = false
            if announced || (unsummarisedRecords > 0 && mayReport(at: now)) {
                let outages = unsummarisedOutages > 1 ? " in \(unsummarisedOutages) outages" : ""
                lines.append(Self.prefix + "\(path) is written again; \(Self.records(unsummarisedRecords)) lost\(outages)")
                announced = false
                unsummarisedRecords = 0
                unsummarisedOutages = 0
                lastReport = now
            }
        }
        return lines
    }

    /// The line for stderr at shutdown, when losses were never summed up.
    func finish() -> [String] {
        guard unsummarisedRecords > 0 else { return [] }
        if health.isFailing {
            return [Self.prefix + "stopping while \(path) cannot be written; \(Self.records(unsummarisedRecords)) lost"]
        }
        let outages = unsummarisedOutages == 1 ? "1 outage" : "\(unsummarisedOutages) outages"
        return [Self.prefix + "stopping; \(Self.records(unsummarisedRecords)) lost in \(outages) since the last report"]
    }

    private func mayReport(at now: ContinuousClock.Instant) -> Bool {
        guard let lastReport else { return true }
        return lastReport.duration(to: now) >= quietPeriod
    }

    private func rotationText(_ failure: LogFileError) -> String {
        "\(failure); no backup is touched and \(path) grows past \(maxBytes) bytes until it can be rotated"
    }

    /// `1 log record was`, `42 log records were`.
    static func records(_ count: Int) -> String {
        count == 1 ? "1 log record was" : "\(count) log records were"
    }
}

/// A WARNING the sink writes into the log file about the file itself, and what writing it settles.
struct LogFileNotice: Equatable {
    /// What the notice states.
    enum Kind: Equatable {
        /// States that this many records were lost.
        case loss(Int)
        /// States that rotation fails.
        case rotation
    }

    var kind: Kind
    var message: String
}
