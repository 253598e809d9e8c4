import Foundation
import NIOConcurrencyHelpers
#if canImport(Glibc)
import Glibc
#endif

/// The part of Foundation's `Process` the tests use, started with `posix_spawn`.
///
/// swift-corelibs-foundation's `Process.run()` on Linux reads `/proc/self/fd` with a 256-byte copy of each entry's
/// name, which now and then reads past glibc's buffer and crashes the test process
/// (swiftlang/swift-corelibs-foundation#5472; seen here as `Process.run() + 6428` in `memcpy`). This launcher asks
/// glibc to close every descriptor above 2 in the child (`posix_spawn_file_actions_addclosefrom_np`) instead, and
/// waits for the child on a thread of its own.
final class ChildProcess: @unchecked Sendable {
    // @unchecked: the settings are written before `run()`, by one task; the outcome is behind `state`'s lock.
    var executableURL: URL?
    var arguments: [String] = []
    /// The child's environment; the parent's when nil.
    var environment: [String: String]?
    var currentDirectoryURL: URL?
    /// A `Pipe` or a `FileHandle` for each of the child's standard streams; the parent's own when nil.
    var standardInput: Any?
    var standardOutput: Any?
    var standardError: Any?
    /// Called once, on the waiting thread, when the child has ended.
    var terminationHandler: (@Sendable (ChildProcess) -> Void)?

    enum TerminationReason: Sendable {
        case exit, uncaughtSignal
    }

    private struct State {
        var pid: pid_t = 0
        var ended: (reason: TerminationReason, status: Int32)?
    }

    private let state = NIOLockedValueBox(State())
    private let endedSignal = DispatchSemaphore(value: 0)

    var processIdentifier: Int32 { state.withLockedValue { $0.pid } }
    var isRunning: Bool { state.withLockedValue { $0.pid != 0 && $0.ended == nil } }
    var terminationStatus: Int32 { state.withLockedValue { $0.ended?.status ?? 0 } }
    var terminationReason: TerminationReason { state.withLockedValue { $0.ended?.reason ?? .exit } }

    struct LaunchFailure: Error, CustomStringConvertible {
        var description: String
    }

    func run() throws {
        guard let executable = executableURL?.path else { throw LaunchFailure(description: "no executable") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var nullDevice: Int32 = -1
        defer { if nullDevice >= 0 { close(nullDevice) } }
        let streams: [(target: Int32, value: Any?, childReads: Bool)] = [
            (0, standardInput, true), (1, standardOutput, false), (2, standardError, false),
        ]
        for stream in streams {
            let source: Int32
            switch stream.value {
            case let pipe as Pipe:
                source = stream.childReads ? pipe.fileHandleForReading.fileDescriptor : pipe.fileHandleForWriting.fileDescriptor
            case let handle as FileHandle where handle === FileHandle.nullDevice:
                if nullDevice < 0 { nullDevice = open("/dev/null", O_RDWR | O_CLOEXEC) }
                source = nullDevice
            case let handle as FileHandle:
                source = handle.fileDescriptor
            default:
                continue
            }
            posix_spawn_file_actions_adddup2(&actions, source, stream.target)
        }
        guard Self.addCloseFrom(&actions, 3) == 0 else { throw LaunchFailure(description: "closefrom action") }
        if let directory = currentDirectoryURL?.path {
            guard Self.addChdir(&actions, directory) == 0 else { throw LaunchFailure(description: "chdir action") }
        }

        // The child starts with no blocked signals and default handlers, whatever the test process has set.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGTERM, SIGINT, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let environment = (self.environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0
        let status = Self.withCStrings([executable] + arguments) { argv in
            Self.withCStrings(environment) { envp in
                posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
            }
        }
        guard status == 0 else {
            throw LaunchFailure(description: "posix_spawn \(executable): \(String(cString: strerror(status)))")
        }
        let spawned = pid
        state.withLockedValue { $0.pid = spawned }

        // The child's ends of the pipes now belong to it: closed here, the parent sees end-of-file when it exits.
        for stream in streams {
            guard let pipe = stream.value as? Pipe else { continue }
            try? (stream.childReads ? pipe.fileHandleForReading : pipe.fileHandleForWriting).close()
        }

        Thread.detachNewThread { [self] in
            var status: Int32 = 0
            while waitpid(spawned, &status, 0) == -1, errno == EINTR {}
            // The wait status as glibc's WIFEXITED/WEXITSTATUS/WTERMSIG macros read it.
            let signal = status & 0x7F
            let ended: (TerminationReason, Int32) = signal == 0 ? (.exit, (status >> 8) & 0xFF) : (.uncaughtSignal, signal)
            state.withLockedValue { $0.ended = ended }
            terminationHandler?(self)
            endedSignal.signal()
        }
    }

    /// Sends SIGTERM.
    func terminate() {
        let pid = processIdentifier
        if pid != 0, isRunning { kill(pid, SIGTERM) }
    }

    /// Blocks until the child has ended and its termination handler has run.
    func waitUntilExit() {
        guard processIdentifier != 0 else { return }
        endedSignal.wait()
        endedSignal.signal()
    }

    // glibc's non-portable file actions (2.29 and 2.34), which Swift's Glibc module does not declare.
    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
    private static let addCloseFrom = unsafeBitCast(symbol("posix_spawn_file_actions_addclosefrom_np"), to: AddCloseFrom.self)
    private static let addChdir = unsafeBitCast(symbol("posix_spawn_file_actions_addchdir_np"), to: AddChdir.self)

    private static func symbol(_ name: String) -> UnsafeMutableRawPointer {
        guard let address = dlsym(dlopen(nil, RTLD_NOW), name) else { fatalError("glibc has no \(name)") }
        return address
    }

    private static func withCStrings<Result>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> Result) -> Result {
        let pointers = strings.map { strdup($0) } + [nil]
        defer { pointers.forEach { free($0) } }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}
