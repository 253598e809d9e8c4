import Foundation
import Testing

@testable import Microblog

/// A stored message split into its header lines and body lines (CRLF line ends, as received).
struct ReceivedMail {
    var headers: [String]
    var bodyLines: [String]
    var raw: String

    init(_ raw: String) {
        self.raw = raw
        let parts = raw.components(separatedBy: "\r\n\r\n")
        headers = parts[0].components(separatedBy: "\r\n")
        var body = parts.dropFirst().joined(separator: "\r\n\r\n")
        if body.hasSuffix("\r\n") { body.removeLast() }
        bodyLines = body.isEmpty ? [] : body.components(separatedBy: "\r\n")
    }

    func header(_ name: String) -> String? {
        headers.first { $0.lowercased().hasPrefix(name.lowercased() + ": ") }.map { String($0.dropFirst(name.count + 2)) }
    }
}

@Suite("SMTP client against aiosmtpd")
struct SMTPClientTests {
    @Test("Plain delivery: envelope, headers, body, dot-stuffing and CRLF arrive intact")
    func plainDelivery() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let server = try await SMTPTestServer.start(in: directory)
        defer { server.stop() }
        let configuration = MailConfiguration(server: "127.0.0.1", port: server.port, admins: ["admin@example.com", "ops@example.com"])
        let message = MailMessage(
            from: configuration.sender,
            to: configuration.admins,
            subject: "Microblog Failure\r\nBcc: victim@example.com",
            body: "first line\n.leading dot\n..two dots\r\nlast line é",
            date: 1_795_687_200
        )
        // When
        try await SMTPClient(configuration: configuration).send(message)
        // Then
        let mails = try server.messages().map(ReceivedMail.init)
        try #require(mails.count == 1)
        let mail = mails[0]
        #expect(mail.header("X-Envelope-From") == "no-reply@127.0.0.1")
        #expect(mail.header("X-Envelope-To") == "admin@example.com, ops@example.com")
        #expect(mail.header("From") == "no-reply@127.0.0.1")
        #expect(mail.header("To") == "admin@example.com, ops@example.com")
        #expect(mail.header("Subject") == "Microblog Failure  Bcc: victim@example.com")
        #expect(mail.header("Bcc") == nil)
        #expect(mail.header("Date") == "Thu, 26 Nov 2026 10:00:00 +0000")
        #expect(mail.header("Message-ID")?.wholeMatch(of: /<[0-9a-f]+\.[0-9a-f]+@127\.0\.0\.1>/) != nil)
        #expect(mail.header("Content-Type") == "text/plain; charset=utf-8")
        #expect(mail.bodyLines == ["first line", ".leading dot", "..two dots", "last line é"])
        #expect(!mail.raw.replacingOccurrences(of: "\r\n", with: "").contains("\n"))
    }

    @Test("STARTTLS with a verified certificate, then AUTH, delivers")
    func startTLSAndAuth() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let certificate = try await makeSelfSignedCertificate(in: directory)
        let server = try await SMTPTestServer.start(tls: certificate, auth: ("mailer", "s3cret"), in: directory)
        defer { server.stop() }
        let configuration = MailConfiguration(
            server: "localhost", port: server.port, useTLS: true, username: "mailer", password: "s3cret",
            admins: ["admin@example.com"], trustedCAFile: certificate.certificate
        )
        try await SMTPClient(configuration: configuration).send(
            MailMessage(from: configuration.sender, to: configuration.admins, subject: "Microblog Failure", body: "over TLS")
        )
        let mails = try server.messages().map(ReceivedMail.init)
        #expect(mails.count == 1)
        #expect(mails.first?.bodyLines == ["over TLS"])
        #expect(mails.first?.header("From") == "no-reply@localhost")
    }

    @Test("A wrong password is a permanent authentication failure")
    func authRejected() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let certificate = try await makeSelfSignedCertificate(in: directory)
        let server = try await SMTPTestServer.start(tls: certificate, auth: ("mailer", "s3cret"), in: directory)
        defer { server.stop() }
        let configuration = MailConfiguration(
            server: "localhost", port: server.port, useTLS: true, username: "mailer", password: "wrong",
            admins: ["admin@example.com"], trustedCAFile: certificate.certificate
        )
        let error = await #expect(throws: SMTPError.self) {
            try await SMTPClient(configuration: configuration).send(
                MailMessage(from: configuration.sender, to: configuration.admins, subject: "s", body: "b")
            )
        }
        guard case .authenticationFailed(let code, _) = error else {
            Issue.record("expected authenticationFailed, got \(String(describing: error))")
            return
        }
        #expect(code == 535)
        #expect(error?.isPermanent == true)
        #expect(try server.messages().isEmpty)
    }

    @Test("An untrusted certificate fails the TLS handshake")
    func untrustedCertificate() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let certificate = try await makeSelfSignedCertificate(in: directory)
        let server = try await SMTPTestServer.start(tls: certificate, in: directory)
        defer { server.stop() }
        let configuration = MailConfiguration(server: "localhost", port: server.port, useTLS: true, admins: ["admin@example.com"])
        let error = await #expect(throws: SMTPError.self) {
            try await SMTPClient(configuration: configuration).send(
                MailMessage(from: configuration.sender, to: configuration.admins, subject: "s", body: "b")
            )
        }
        guard case .tlsFailed = error else {
            Issue.record("expected tlsFailed, got \(String(describing: error))")
            return
        }
        #expect(try server.messages().isEmpty)
    }

    @Test("MAIL_USE_TLS against a server without STARTTLS fails: no plaintext fallback")
    func noPlaintextFallback() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let server = try await SMTPTestServer.start(in: directory)
        defer { server.stop() }
        let configuration = MailConfiguration(server: "127.0.0.1", port: server.port, useTLS: true, admins: ["admin@example.com"])
        await #expect(throws: SMTPError.startTLSUnavailable) {
            try await SMTPClient(configuration: configuration).send(
                MailMessage(from: configuration.sender, to: configuration.admins, subject: "s", body: "secret body")
            )
        }
        #expect(try server.messages().isEmpty)
    }
}

@Suite("SMTP client against a faulty server")
struct SMTPFaultTests {
    private func send(to server: FakeSMTPServer, timeout: Duration = .seconds(10)) async throws(SMTPError) {
        let configuration = MailConfiguration(server: "127.0.0.1", port: server.port, admins: ["admin@example.com"], timeout: timeout)
        try await SMTPClient(configuration: configuration).send(
            MailMessage(from: configuration.sender, to: configuration.admins, subject: "s", body: "b")
        )
    }

    @Test("A server that stalls inside DATA times out")
    func stallInData() async throws {
        let server = try await FakeSMTPServer.start(.stallInData)
        // The timeout bounds every step: it must be long enough for the steps before DATA on a loaded machine under
        // ThreadSanitizer (300 ms was not), since only the stalled step may run out of it.
        await #expect(throws: SMTPError.timedOut(step: "end of DATA")) {
            try await send(to: server, timeout: .seconds(3))
        }
        await server.stop()
    }

    @Test("A 421 greeting is a transient error")
    func busy() async throws {
        let server = try await FakeSMTPServer.start(.busyOnFirstConnection)
        let error = await #expect(throws: SMTPError.self) { try await send(to: server) }
        #expect(error == .transientReply(step: "greeting", code: 421, text: "4.3.2 Service not available, closing transmission channel"))
        #expect(error?.isPermanent == false)
        await server.stop()
    }

    @Test("A garbage reply is a malformed-reply error")
    func garbage() async throws {
        let server = try await FakeSMTPServer.start(.garbageReply)
        await #expect(throws: SMTPError.malformedReply("HTTP/1.1 400 Bad Request")) { try await send(to: server) }
        await server.stop()
    }

    @Test("A 5xx reply is permanent")
    func rejected() async throws {
        let server = try await FakeSMTPServer.start(.rejectSender)
        let error = await #expect(throws: SMTPError.self) { try await send(to: server) }
        #expect(error == .permanentReply(step: "MAIL FROM", code: 550, text: "5.7.1 sender rejected"))
        #expect(error?.isPermanent == true)
        await server.stop()
    }
}
