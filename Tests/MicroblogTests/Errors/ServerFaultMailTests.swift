import Foundation
import Logging
import Testing
@testable import Microblog

@Suite("Chapter 7 end to end: a server fault is logged to the file and mailed to the admins")
struct ErrorMailTests {
    @Test(
        "A 500 gives one ERROR line in logs/microblog.log and a 'Microblog Failure' mail to ADMINS via real SMTP, with no secrets",
        arguments: Backend.all
    )
    func faultIsLoggedAndMailed(_ backend: Backend) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let smtp = try await SMTPTestServer.start(in: directory)
        defer { smtp.stop() }
        var env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        env.databaseFaults = DatabaseFaults(betweenPostWrites: { throw InjectedFault() })
        let mail = MailConfiguration(server: "localhost", port: smtp.port, admins: ["admin@example.com", "ops@example.com"])
        let logConfiguration = LogConfiguration(directory: directory.file("logs"))
        let password = "pw-alice-pw"
        let environment = env
        let (page, cookie) = try await withRunningSink(logConfiguration, mail: mail, policy: MailPolicy(coalescingWindow: .milliseconds(50))) { sink in
            let app = try await buildApplication(
                configuration: environment.configuration,
                dependencies: AppDependencies(logger: sinkLogger(sink), databaseFaults: environment.databaseFaults)
            )
            let result = try await app.test(.router) { client in
                let browser = Browser(client)
                try await browser.signUp("alice")
                let page = try await browser.post("/index", [("post", "boom")])
                return (page, browser.cookie("session") ?? "")
            }
            await sink.waitUntilIdle()
            return result
        }
        #expect(page.status == .internalServerError)
        let reference = try #require(page.body.firstMatch(of: /Reference: ([0-9a-f]{8})/)?.1)

        let lines = readLines(logConfiguration.filePath)
        let errorLines = lines.filter { $0.contains(" ERROR: ") }
        #expect(errorLines.count == 1)
        #expect(errorLines.first?.contains("Exception on POST /index") == true)
        #expect(errorLines.first?.contains("reference=\(reference)") == true)

        let messages = try smtp.messages()
        #expect(messages.count == 1)
        let message = try #require(messages.first)
        #expect(message.contains("Subject: Microblog Failure"))
        #expect(message.contains("admin@example.com") && message.contains("ops@example.com"))
        #expect(message.contains("From: no-reply@localhost"))
        #expect(message.contains(String(reference)))
        #expect(message.contains("injected fault"))

        let everything = lines.joined(separator: "\n") + message + page.body
        for secret in [password, cookie, environment.configuration.secretKey] where !secret.isEmpty {
            #expect(!everything.contains(secret), "a secret leaked into the log, mail or page")
        }
    }

    @Test("Debug mode sends no mail")
    func debugModeSendsNoMail() {
        let mail = MailConfiguration(server: "localhost", admins: ["admin@example.com"])
        let production = AppConfiguration(secretKey: String(repeating: "k", count: 40), mail: mail)
        let debug = AppConfiguration(secretKey: String(repeating: "k", count: 40), debug: true, mail: mail)
        #expect(production.effectiveMail != nil)
        #expect(debug.effectiveMail == nil)
    }
}
