#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL

/// Sends one mail per connection over SMTP, on SwiftNIO.
///
/// The conversation: greeting, `EHLO`; with ``MailConfiguration/useTLS`` `STARTTLS` is required (no plaintext
/// fallback), the certificate is verified against the system roots plus ``MailConfiguration/trustedCAFile``,
/// and `EHLO` is sent again; with credentials, `AUTH PLAIN` or `AUTH LOGIN` as advertised; then `MAIL FROM`,
/// `RCPT TO` for each recipient (some may be refused), `DATA` with dot-stuffing and CRLF, `QUIT`.
/// Every step has the configuration's timeout. Safe to use from any task.
package struct SMTPClient: Sendable {
    package let configuration: MailConfiguration
    let eventLoopGroup: any EventLoopGroup
    /// The name given in `EHLO`.
    package var heloName: String

    package init(configuration: MailConfiguration, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.heloName = Self.localHostName()
    }

    /// Delivers `message` to its recipients (those the server accepts).
    ///
    /// - Throws: ``SMTPError``; ``SMTPError/isPermanent`` tells whether a retry could help.
    package func send(_ message: MailMessage) async throws(SMTPError) {
        for address in [message.from] + message.to {
            guard Self.isValidAddress(address) else { throw .invalidAddress(address) }
        }
        let tlsContext = try makeTLSContext()
        let greeting = eventLoopGroup.any().makePromise(of: SMTPReply.self)
        let firstFailure = NIOLockedValueBox<SMTPError?>(nil)
        let channel: any Channel
        do {
            channel = try await connect(
                greeting: SMTPCommand(bytes: nil, step: "greeting", timeout: timeout, reply: greeting),
                firstFailure: firstFailure
            )
        } catch {
            greeting.fail(error)
            throw error
        }
        do {
            let connection = SMTPConnection(channel: channel, firstFailure: firstFailure)
            try await converse(on: connection, greeting: greeting.futureResult, message: message, tlsContext: tlsContext)
        } catch {
            channel.close(promise: nil)
            throw error
        }
        channel.close(promise: nil)
    }

    // MARK: - Conversation

    private func converse(
        on connection: SMTPConnection,
        greeting greetingFuture: EventLoopFuture<SMTPReply>,
        message: MailMessage,
        tlsContext: NIOSSLContext?
    ) async throws(SMTPError) {
        let greeting: SMTPReply
        do {
            greeting = try await greetingFuture.get()
        } catch {
            throw SMTPClientHandler.map(error, step: "greeting")
        }
        try expect(greeting, 220, step: "greeting")
        var capabilities = try await hello(connection)

        if configuration.useTLS, let tlsContext {
            guard capabilities.startTLS else { throw .startTLSUnavailable }
            let reply = try await exchange(connection, "STARTTLS", step: "STARTTLS")
            try expect(reply, 220, step: "STARTTLS")
            try await addTLS(to: connection.channel, context: tlsContext)
            capabilities = try await hello(connection)
        }

        if let credentials = configuration.credentials {
            try await authenticate(connection, capabilities: capabilities, credentials: credentials)
        }

        let body = message.isEightBit && capabilities.eightBitMIME ? " BODY=8BITMIME" : ""
        let mailFrom = try await exchange(connection, "MAIL FROM:<\(message.from)>\(body)", step: "MAIL FROM")
        try expect(mailFrom, 250, step: "MAIL FROM")

        var accepted = 0
        var lastRefusal: SMTPReply?
        for recipient in message.to {
            let reply = try await exchange(connection, "RCPT TO:<\(recipient)>", step: "RCPT TO")
            if reply.code == 250 || reply.code == 251 {
                accepted += 1
            } else if (400..<500).contains(reply.code) {
                throw .transientReply(step: "RCPT TO", code: reply.code, text: reply.text)
            } else {
                lastRefusal = reply
            }
        }
        guard accepted > 0 else {
            throw .allRecipientsRefused(code: lastRefusal?.code ?? 0, text: lastRefusal?.text ?? "no recipients")
        }

        let data = try await exchange(connection, "DATA", step: "DATA")
        try expect(data, 354, step: "DATA")
        let content = try await exchange(connection, message.renderedForData() + ".", step: "end of DATA")
        try expect(content, 250, step: "end of DATA")

        // The mail is delivered; a failing QUIT changes nothing.
        _ = try? await exchange(connection, "QUIT", step: "QUIT")
    }

    private struct Capabilities {
        var startTLS = false
        var eightBitMIME = false
        var authMechanisms: Set<String>?
    }

    private func hello(_ connection: SMTPConnection) async throws(SMTPError) -> Capabilities {
        let reply = try await exchange(connection, "EHLO \(heloName)", step: "EHLO")
        try expect(reply, 250, step: "EHLO")
        var capabilities = Capabilities()
        for line in reply.lines.dropFirst() {
            let words = line.uppercased().split(separator: " ").map(String.init)
            switch words.first {
            case "STARTTLS": capabilities.startTLS = true
            case "8BITMIME": capabilities.eightBitMIME = true
            case "AUTH": capabilities.authMechanisms = Set(words.dropFirst())
            default: break
            }
        }
        return capabilities
    }

    private func authenticate(
        _ connection: SMTPConnection,
        capabilities: Capabilities,
        credentials: (username: String, password: String)
    ) async throws(SMTPError) {
        guard let mechanisms = capabilities.authMechanisms else { throw .authenticationUnavailable }
        if mechanisms.contains("PLAIN") {
            let token = Data("\0\(credentials.username)\0\(credentials.password)".utf8).base64EncodedString()
            let reply = try await exchange(connection, "AUTH PLAIN \(token)", step: "AUTH PLAIN")
            try expectAuth(reply, 235)
        } else if mechanisms.contains("LOGIN") {
            try expectAuth(try await exchange(connection, "AUTH LOGIN", step: "AUTH LOGIN"), 334)
            let user = try await exchange(connection, Data(credentials.username.utf8).base64EncodedString(), step: "AUTH LOGIN")
            try expectAuth(user, 334)
            let pass = try await exchange(connection, Data(credentials.password.utf8).base64EncodedString(), step: "AUTH LOGIN")
            try expectAuth(pass, 235)
        } else {
            throw .authenticationUnavailable
        }
    }

    private func expectAuth(_ reply: SMTPReply, _ code: Int) throws(SMTPError) {
        guard reply.code != code else { return }
        if (400..<500).contains(reply.code) {
            throw .transientReply(step: "AUTH", code: reply.code, text: reply.text)
        }
        throw .authenticationFailed(code: reply.code, text: reply.text)
    }

    private func expect(_ reply: SMTPReply, _ code: Int, step: String) throws(SMTPError) {
        guard reply.code != code else { return }
        if (400..<500).contains(reply.code) {
            throw .transientReply(step: step, code: reply.code, text: reply.text)
        }
        throw .permanentReply(step: step, code: reply.code, text: reply.text)
    }

    // MARK: - Transport

    private var timeout: TimeAmount {
        TimeAmount(configuration.timeout)
    }

    private func connect(greeting: SMTPCommand, firstFailure: NIOLockedValueBox<SMTPError?>) async throws(SMTPError) -> any Channel {
        let bootstrap = ClientBootstrap(group: eventLoopGroup)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(SMTPReplyDecoder()))
                    try channel.pipeline.syncOperations.addHandler(SMTPClientHandler(greeting: greeting, firstFailure: firstFailure))
                }
            }
        do {
            return try await bootstrap.connect(host: configuration.server, port: configuration.port).get()
        } catch let error as ChannelError where error == .connectTimeout(timeout) {
            throw .timedOut(step: "connect")
        } catch {
            throw .connectionFailed(String(describing: error))
        }
    }

    private func exchange(_ connection: SMTPConnection, _ line: String?, step: String) async throws(SMTPError) -> SMTPReply {
        let channel = connection.channel
        let reply = channel.eventLoop.makePromise(of: SMTPReply.self)
        let written = channel.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenFailure { error in
            reply.fail(SMTPClientHandler.map(error, step: step))
        }
        let bytes = line.map { ByteBuffer(string: $0 + "\r\n") }
        channel.writeAndFlush(SMTPCommand(bytes: bytes, step: step, timeout: timeout, reply: reply), promise: written)
        do {
            return try await reply.futureResult.get()
        } catch {
            let mapped = SMTPClientHandler.map(error, step: step)
            if case .connectionClosed = mapped {
                // The close may have a cause (a failed TLS handshake): once the channel is fully closed, every
                // handler event has fired and the connection's first failure is recorded.
                try? await channel.closeFuture.get()
                if let cause = connection.firstFailure.withLockedValue({ $0 }) { throw cause }
            }
            throw mapped
        }
    }

    private func makeTLSContext() throws(SMTPError) -> NIOSSLContext? {
        guard configuration.useTLS else { return nil }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .fullVerification
        if let file = configuration.trustedCAFile {
            tls.additionalTrustRoots = [.file(file)]
        }
        do {
            return try NIOSSLContext(configuration: tls)
        } catch {
            throw .tlsFailed("cannot set up TLS: \(error)")
        }
    }

    private func addTLS(to channel: any Channel, context: NIOSSLContext) async throws(SMTPError) {
        let server = configuration.server
        // IP literals cannot go in SNI; the certificate is then checked without a host name.
        let hostname: String? = Self.isIPAddress(server) ? nil : server
        do {
            try await channel.eventLoop.submit {
                let handler = try NIOSSLClientHandler(context: context, serverHostname: hostname)
                try channel.pipeline.syncOperations.addHandler(handler, position: .first)
            }.get()
        } catch {
            throw SMTPClientHandler.map(error, step: "STARTTLS")
        }
    }

    // MARK: - Helpers

    /// An address usable in the envelope and headers: no spaces, brackets or control characters.
    static func isValidAddress(_ address: String) -> Bool {
        !address.isEmpty
            && !address.unicodeScalars.contains { $0.value <= 0x20 || $0.value == 0x7F || "<>,;\"\\()".unicodeScalars.contains($0) }
    }

    static func isIPAddress(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    static func localHostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let allowed = !name.isEmpty && name.unicodeScalars.allSatisfy { scalar in
            ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
                || scalar == "-" || scalar == "."
        }
        return allowed ? name : "localhost"
    }
}

/// An open connection and the record of its first failure.
struct SMTPConnection: Sendable {
    let channel: any Channel
    let firstFailure: NIOLockedValueBox<SMTPError?>
}
