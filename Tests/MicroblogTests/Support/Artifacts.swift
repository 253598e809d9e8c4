import Foundation
import NIOConcurrencyHelpers

/// What the server let out during the test run — every page a ``Browser`` received, the log files, the server
/// processes' output, the mails the SMTP server took in — and every secret the tests used (passwords, session and
/// remember cookies, CSRF tokens, secret keys, mail passwords), kept in `$MICROBLOG_TEST_ARTIFACTS` for
/// `Tests/scripts/check-secrets.py`, which the test command runs after the whole suite. Does nothing when the
/// variable is unset.
enum Artifacts {
    static let folder: String? = {
        guard let path = ProcessInfo.processInfo.environment["MICROBLOG_TEST_ARTIFACTS"], !path.isEmpty else { return nil }
        try? FileManager.default.createDirectory(atPath: path + "/files", withIntermediateDirectories: true)
        return path
    }()

    private static let appenders = NIOLockedValueBox<[String: FileHandle]>([:])

    /// Notes a secret the server must never show in a page, a log or a mail.
    static func secret(_ value: String, kind: String) {
        guard !value.isEmpty, !value.contains("\n") else { return }
        append("\(kind)\t\(value)\n", to: "secrets.tsv")
    }

    /// Keeps a page as received: status, headers (but `Set-Cookie`, where the session cookie belongs), body.
    static func page(_ page: Page, method: String, uri: String) {
        guard folder != nil else { return }
        if let token = page.csrfToken { secret(token, kind: "csrf_token") }
        var text = "=== \(method) \(uri) -> \(page.status.code)\n"
        for field in page.headers where field.name != .setCookie {
            text += "\(field.name): \(field.value)\n"
        }
        text += "\n" + page.body + "\n"
        append(text, to: "pages.txt")
    }

    /// Keeps `text` (a server's output, in-memory log records) as a file of its own.
    static func keep(_ text: String, as name: String) {
        guard let folder, !text.isEmpty else { return }
        _ = FileManager.default.createFile(atPath: "\(folder)/files/\(UUID().uuidString.prefix(8))-\(name)", contents: Data(text.utf8))
    }

    /// Keeps the log files and mails under `directory` before a test removes it.
    static func keepFiles(under directory: String) {
        guard let folder else { return }
        let files = FileManager.default
        guard let enumerator = files.enumerator(atPath: directory) else { return }
        let run = UUID().uuidString.prefix(8)
        for case let relative as String in enumerator {
            let name = (relative as NSString).lastPathComponent
            guard name.hasSuffix(".eml") || name.contains(".log") else { continue }
            // Regular files only: copying a FIFO (a log-fault test makes one) would wait for a writer for ever.
            let type = try? files.attributesOfItem(atPath: directory + "/" + relative)[.type] as? FileAttributeType
            guard type == .typeRegular else { continue }
            let target = "\(folder)/files/\(run)-" + relative.replacingOccurrences(of: "/", with: "_")
            try? files.copyItem(atPath: directory + "/" + relative, toPath: target)
        }
    }

    private static func append(_ text: String, to name: String) {
        guard let folder else { return }
        appenders.withLockedValue { appenders in
            if appenders[name] == nil {
                let path = "\(folder)/\(name)"
                if !FileManager.default.fileExists(atPath: path) {
                    _ = FileManager.default.createFile(atPath: path, contents: nil)
                }
                appenders[name] = FileHandle(forWritingAtPath: path)
                _ = try? appenders[name]?.seekToEnd()
            }
            try? appenders[name]?.write(contentsOf: Data(text.utf8))
        }
    }
}
