/// How error mail reaches the admins (`MAIL_SERVER`, `MAIL_PORT`, `MAIL_USE_TLS`, `MAIL_USERNAME`,
/// `MAIL_PASSWORD`, `ADMINS`). The app passes `nil` instead when `MAIL_SERVER` is unset or in debug mode.
///
/// The password is a secret: `description`, `debugDescription` and the mirror show it as `********`.
package struct MailConfiguration: Sendable {
    /// SMTP host name (also the domain of the `no-reply@` sender and of the Message-ID).
    package var server: String
    /// SMTP port, 25 by default.
    package var port: Int
    /// STARTTLS is required (no plaintext fallback) and the certificate verified.
    package var useTLS: Bool
    package var username: String?
    package var password: String?
    /// Recipients of error mail.
    package var admins: [String]
    /// A PEM file of extra CA certificates to trust besides the system's (for test servers).
    package var trustedCAFile: String?
    /// The limit on connecting and on every reply of the conversation.
    package var timeout: Duration

    package init(
        server: String,
        port: Int = 25,
        useTLS: Bool = false,
        username: String? = nil,
        password: String? = nil,
        admins: [String],
        trustedCAFile: String? = nil,
        timeout: Duration = .seconds(30)
    ) {
        self.server = server
        self.port = port
        self.useTLS = useTLS
        self.username = username
        self.password = password
        self.admins = admins
        self.trustedCAFile = trustedCAFile
        self.timeout = timeout
    }

    /// `no-reply@<server>`, the tutorial's sender.
    package var sender: String { "no-reply@" + server }

    /// Whether AUTH is to be used: both a user name and a password are set.
    var credentials: (username: String, password: String)? {
        guard let username, let password, !username.isEmpty else { return nil }
        return (username, password)
    }
}

extension MailConfiguration: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    package var description: String {
        "MailConfiguration(server: \(server), port: \(port), useTLS: \(useTLS), username: \(username ?? "nil"), "
            + "password: \(password == nil ? "nil" : "********"), admins: \(admins), "
            + "trustedCAFile: \(trustedCAFile ?? "nil"), timeout: \(timeout))"
    }

    package var debugDescription: String { description }

    package var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "server": server,
                "port": port,
                "useTLS": useTLS,
                "username": username as Any,
                "password": (password == nil ? "nil" : "********") as Any,
                "admins": admins,
                "trustedCAFile": trustedCAFile as Any,
                "timeout": timeout,
            ],
            displayStyle: .struct
        )
    }
}
