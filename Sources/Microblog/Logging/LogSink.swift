import CoreMetrics
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The only writer of the log file and the only sender of error mail.
///
/// Handlers made by ``makeHandler(label:)`` hand records over without blocking; ``run()`` (the `Service`)
/// writes them in batches, one `write(2)` for everything queued at that moment, so the file is current as soon as
/// the sink has caught up (group commit: no record waits for a timer). ERROR and CRITICAL records also go
/// to the mail loop when a ``MailConfiguration`` is given.
///
/// Shutdown: on graceful shutdown the sink writes what is queued, sends the mail still queued (one more attempt
/// each, no backoff), writes any mail failure to the file, and returns. Add it to the `ServiceGroup` so that it
/// shuts down after the HTTP server (services shut down in reverse order: put the sink before the server).
/// On cancellation it writes what is queued and abandons mail.
///
/// When the file cannot be written (folder unwritable or missing, disk full) requests are unaffected: records
/// are lost and counted in ``fileHealth``, the outage is reported on stderr once (and summed up when it ends, see
/// ``LogFileMonitor``), every batch tries the file again, and the first records written afterwards are preceded
/// by a WARNING saying how many were lost. A rotation that fails keeps every backup (see ``RotatingFileWriter``).
/// The sink runs on a thread of its own (its executor is a one-thread event loop), where the file is written: a
/// file system that hangs holds up the sink (records wait in the buffer, then are dropped and counted), never a
/// request and never a thread of Swift's cooperative pool.
package actor LogSink: Service {
    /// The value of ``LogSinkHandler/mailMetadataKey`` that keeps a record out of mail.
    package static let suppressedMailValue = "suppressed"

    package let configuration: LogConfiguration
    package let mail: MailConfiguration?
    package let mailPolicy: MailPolicy
    private nonisolated let metrics: LogSinkMetrics

    /// Delivery outcomes of error mail, for tests and monitoring (the newest 256 are kept when nobody reads).
    package nonisolated let mailEvents: AsyncStream<MailDeliveryEvent>

    private nonisolated let buffer: LogRecordBuffer
    private nonisolated let mailQueue: MailQueue
    private nonisolated let eventContinuation: AsyncStream<MailDeliveryEvent>.Continuation
    private let writer: RotatingFileWriter
    private var monitor: LogFileMonitor
    private nonisolated let diagnostics: LogDiagnostics
    private var started = false
    /// The sink's own thread (nil when its runtime gives it an executor), and its executor.
    private nonisolated let thread: MultiThreadedEventLoopGroup?
    private nonisolated let executor: any SerialExecutor
    private nonisolated let runtime: LogSinkRuntime

    package nonisolated var unownedExecutor: UnownedSerialExecutor {
        executor.asUnownedSerialExecutor()
    }

    /// - Parameters:
    ///   - configuration: the file, its rotation and the level.
    ///   - mail: where error mail goes; `nil` when `MAIL_SERVER` is unset or in debug mode.
    ///   - mailPolicy: coalescing window, queue bound and retry backoff.
    ///   - metrics: where records, file failures and mail are counted.
    package init(
        configuration: LogConfiguration,
        mail: MailConfiguration?,
        mailPolicy: MailPolicy = MailPolicy(),
        metrics: LogSinkMetrics = .none
    ) {
        self.init(configuration: configuration, mail: mail, mailPolicy: mailPolicy, metrics: metrics, diagnostics: .standardError)
    }

    /// - Parameters:
    ///   - diagnostics: where failures of the log file are reported (tests collect them).
    ///   - runtime: where the sink runs, how it sends mail and how it waits (``LogSinkRuntime/production``, or a
    ///     simulation's).
    init(
        configuration: LogConfiguration,
        mail: MailConfiguration?,
        mailPolicy: MailPolicy = MailPolicy(),
        metrics: LogSinkMetrics = .none,
        diagnostics: LogDiagnostics,
        runtime: LogSinkRuntime = .production
    ) {
        self.configuration = configuration
        self.mail = mail
        self.mailPolicy = mailPolicy
        self.metrics = metrics
        self.buffer = LogRecordBuffer(capacity: configuration.bufferCapacity)
        self.mailQueue = MailQueue(capacity: mailPolicy.queueCapacity, depth: metrics.mailQueueDepth, sleep: runtime.sleep)
        (self.mailEvents, self.eventContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(256))
        let writer = RotatingFileWriter(
            directory: configuration.directory,
            fileName: configuration.fileName,
            maxBytes: configuration.maxBytes,
            backupCount: configuration.backupCount
        )
        self.writer = writer
        self.monitor = LogFileMonitor(path: writer.path, maxBytes: writer.maxBytes, quietPeriod: diagnostics.quietPeriod)
        self.diagnostics = diagnostics
        self.runtime = runtime
        if let executor = runtime.executor {
            self.thread = nil
            self.executor = executor
        } else {
            let thread = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            self.thread = thread
            self.executor = thread.next().executor
        }
    }

    deinit {
        thread?.shutdownGracefully { _ in }
    }

    /// A sink on `runtime` (a simulation's executor, transport and clock), reporting file failures on stderr.
    package init(configuration: LogConfiguration, mail: MailConfiguration?, mailPolicy: MailPolicy, runtime: LogSinkRuntime) {
        self.init(configuration: configuration, mail: mail, mailPolicy: mailPolicy, metrics: .none, diagnostics: .standardError, runtime: runtime)
    }

    /// What the log file has lost so far, and whether it is failing now (as of the last batch written; while the
    /// sink is inside a `write(2)` that hangs, this waits for it).
    package var fileHealth: LogFileHealth {
        monitor.health
    }

    /// A swift-log handler writing to this sink, at the configured level. Never blocks, never awaits.
    package nonisolated func makeHandler(label: String) -> any LogHandler {
        LogSinkHandler(label: label, buffer: buffer, logLevel: configuration.level)
    }

    /// Waits until every record logged before the call is in the file (and, if mailable, in the mail queue).
    package nonisolated func flush() async {
        await buffer.barrier()
    }

    /// Waits until the file has every record logged before the call and no error mail is queued or being sent
    /// (each delivered or given up), with any mail failure written to the file.
    package nonisolated func waitUntilIdle() async {
        await buffer.barrier()
        await mailQueue.waitUntilIdle()
        await buffer.barrier()
    }

    /// Writes `Microblog startup`, then consumes records until shutdown. Call once.
    package func run() async throws {
        guard !started else { return }
        started = true
        write([LogLineFormatter.line(LogRecord(level: .info, message: "Microblog startup", file: #fileID, line: #line))])
        let buffer = self.buffer
        let mailQueue = self.mailQueue
        let dispatcher = mail.map { mail in
            MailDispatcher(
                transport: runtime.transport(mail),
                configuration: mail,
                policy: mailPolicy,
                queue: mailQueue,
                report: { buffer.push($0) },
                events: eventContinuation,
                metrics: metrics
            )
        }
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await withDiscardingTaskGroup { group in
                    group.addTask {
                        if let dispatcher {
                            await dispatcher.run()
                        } else {
                            // Nothing to send: wait for the drain to close the queue.
                            while await mailQueue.waitForRecords() { _ = mailQueue.take(limit: .max); mailQueue.finishSend() }
                            mailQueue.releaseIdleWaiters()
                        }
                        // Mail is done, its failures are queued: the file loop may finish.
                        buffer.close()
                    }
                    await self.consumeRecords()
                }
            } onGracefulShutdown: {
                buffer.beginDrain()
            }
        } onCancel: {
            mailQueue.close()
            buffer.close()
        }
        for line in monitor.finish() {
            diagnostics.report(line)
        }
        eventContinuation.finish()
    }

    /// Writes `lines` after the notices the monitor has about the file itself, and reports what failed.
    private func write(_ lines: [[UInt8]]) {
        let notices = monitor.notices()
        let outcome: LogFileWriteOutcome
        if notices.isEmpty {
            outcome = writer.write(lines: lines)
        } else {
            let warnings = notices.map { notice in
                LogLineFormatter.line(LogRecord(level: .warning, message: notice.message, file: #fileID, line: #line))
            }
            outcome = writer.write(lines: warnings + lines)
        }
        metrics.recordsWritten.increment(by: outcome.written)
        if outcome.failure != nil { metrics.fileFailures.increment() }
        for line in monitor.record(outcome, notices: notices, at: .now) {
            diagnostics.report(line)
        }
    }

    /// The file loop: everything queued is formatted and written in one go; mailable records go to the mail queue.
    private func consumeRecords() async {
        var lines: [[UInt8]] = []
        while let batch = await buffer.next() {
            lines.removeAll(keepingCapacity: true)
            var barriers: [CheckedContinuation<Void, Never>] = []
            for entry in batch.entries {
                switch entry {
                case .record(let record):
                    lines.append(LogLineFormatter.line(record))
                    if mail != nil, record.isMailable {
                        mailQueue.push(record)
                    }
                case .barrier(let continuation):
                    barriers.append(continuation)
                }
            }
            if batch.dropped > 0 {
                metrics.recordsDropped.increment(by: batch.dropped)
                let record = LogRecord(
                    level: .warning,
                    message: "\(batch.dropped) log record\(batch.dropped == 1 ? " was" : "s were") dropped: "
                        + "the log buffer (\(buffer.capacity) records) was full",
                    file: #fileID,
                    line: #line
                )
                lines.append(LogLineFormatter.line(record))
            }
            write(lines)
            for barrier in barriers { barrier.resume() }
            if batch.drainStarted {
                mailQueue.close()
            }
        }
    }
}
