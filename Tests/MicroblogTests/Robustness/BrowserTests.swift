import Foundation
import Testing
@testable import Microblog

/// The site in a real browser: headless Chromium, driven by `Tests/scripts/browser_check.py` (Selenium with
/// Debian's chromedriver) against the real `microblog` executable, registers, logs in, posts, fills its about-me
/// with HTML/JS payloads and logs out. No payload runs, the console shows no Content-Security-Policy report from
/// the site's pages, and the database holds the about-me and the posts exactly as typed.
@Suite("In a real browser")
struct BrowserTests {
    /// What the script submitted, as it reports it with `--report`.
    struct Report: Decodable {
        let username: String
        let aboutMe: String
        let posts: [String]

        enum CodingKeys: String, CodingKey {
            case username, posts
            case aboutMe = "about_me"
        }
    }

    /// `Tests/scripts/browser_check.py`, found from this file's path.
    static var script: String {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("scripts/browser_check.py").path
    }

    /// Runs `python script arguments` to completion, stdout and stderr into `log` (a file, so a chatty run never
    /// blocks on a full pipe); returns the exit status and the output.
    static func runScript(python: String, arguments: [String], log: URL) async throws -> (status: Int32, output: String) {
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        defer { try? handle.close() }
        let process = ChildProcess()
        if python.contains("/") {
            process.executableURL = URL(fileURLWithPath: python)
            process.arguments = [script] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [python, script] + arguments
        }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = handle
        process.standardError = handle
        let status = try await run(process)
        return (status, (try? String(contentsOf: log, encoding: .utf8)) ?? "")
    }

    @Test("register, log in, post, payload about-me, log out in headless Chromium: no payload runs, no CSP report")
    func payloadsNeverRun() async throws {
        let env = try TestEnvironment()
        defer { env.removeFiles() }
        let server = try await ServerProcess.start(
            environment: env.serverEnvironment,
            workingDirectory: env.directory
        )
        defer { server.stop() }

        // The interpreter the SMTP tests use: $MICROBLOG_TEST_PYTHON (the venv the test command fills), else .venv.
        let python = SMTPTestServer.python
        let reportFile = env.directory.appendingPathComponent("browser-report.json")
        let started = ContinuousClock.now
        let (status, output) = try await Self.runScript(
            python: python,
            arguments: [
                "http://127.0.0.1:\(server.port)",
                // Chromium's profile inside the test's folder, removed with it.
                "--user-data-dir", env.directory.appendingPathComponent("chromium-profile").path,
                "--report", reportFile.path,
            ],
            log: env.directory.appendingPathComponent("browser-check.log")
        )
        print("browser check (\(ContinuousClock.now - started)): \(output.trimmingCharacters(in: .whitespacesAndNewlines))")
        if status == 3 {
            Issue.record(
                """
                The browser check cannot run: \(python) lacks selenium, or chromium/chromedriver are missing. \
                Run Tests/scripts/test-all.sh (it installs chromium, chromium-driver and selenium into .venv and sets \
                MICROBLOG_TEST_PYTHON). Its output:
                \(output)
                """
            )
            return
        }
        if status != 0 { Attachment.record(output, named: "browser-check.log") }
        #expect(status == 0, "browser_check.py exited \(status):\n\(output)")
        guard status == 0 else { return }

        // Nothing lost on the way: the database holds what the browser typed, character for character.
        let report = try JSONDecoder().decode(Report.self, from: Data(contentsOf: reportFile))
        #expect(report.aboutMe.contains("<script>") && report.posts.count == 2)
        let database = try env.openDatabase()
        let user = try #require(try await database.user(usernameKey: IdentityKey(report.username)))
        #expect(user.aboutMe == report.aboutMe)
        let stored = try await database.newestPosts(byAuthor: user.id, perPage: 10).items.map(\.body)
        #expect(Set(stored) == Set(report.posts) && stored.count == report.posts.count, "stored posts: \(stored)")
    }
}
