#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A plain-text mail, rendered for the SMTP DATA phase.
package struct MailMessage: Sendable {
    package var from: String
    package var to: [String]
    package var subject: String
    package var body: String
    /// Seconds since 1970 (UTC), the `Date` header.
    package var date: Int64
    /// The `Message-ID` header value including its angle brackets.
    package var messageID: String

    /// - Parameters:
    ///   - date: seconds since 1970; now by default.
    ///   - messageID: a random `<hex.hex@domain>` on the sender's domain by default.
    package init(from: String, to: [String], subject: String, body: String, date: Int64? = nil, messageID: String? = nil) {
        self.from = from
        self.to = to
        self.subject = subject
        self.body = body
        self.date = date ?? Int64(time(nil))
        let domain = from.split(separator: "@").last.map(String.init) ?? "localhost"
        self.messageID =
            messageID
            ?? "<\(String(UInt64.random(in: .min ... .max), radix: 16)).\(String(UInt64.random(in: .min ... .max), radix: 16))@\(Self.headerValue(domain))>"
    }

    /// Whether the body needs 8-bit transport.
    var isEightBit: Bool {
        body.utf8.contains { $0 >= 0x80 } || subject.utf8.contains { $0 >= 0x80 }
    }

    /// Headers, an empty line and the body with CRLF line ends and dot-stuffing, ready for DATA,
    /// without the final `.` line. Lines over 998 bytes are broken (RFC 5321's limit).
    package func renderedForData() -> String {
        var out = ""
        out.reserveCapacity(body.utf8.count + 512)
        func header(_ name: String, _ value: String) {
            out += name + ": " + Self.headerValue(value) + "\r\n"
        }
        header("Date", Self.rfc5322Date(date))
        header("From", from)
        header("To", to.joined(separator: ", "))
        header("Subject", subject)
        header("Message-ID", messageID)
        header("MIME-Version", "1.0")
        header("Content-Type", "text/plain; charset=utf-8")
        header("Content-Transfer-Encoding", isEightBit ? "8bit" : "7bit")
        out += "\r\n"
        for line in Self.lines(of: body) {
            for piece in Self.split(line, maxBytes: 998) {
                if piece.hasPrefix(".") { out += "." }
                out += piece
                out += "\r\n"
            }
        }
        return out
    }

    /// A header value with CR, LF and other control characters replaced by spaces.
    static func headerValue(_ value: String) -> String {
        String(
            String.UnicodeScalarView(
                value.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : $0 }
            )
        )
    }

    /// Lines split on CRLF, CR or LF.
    static func lines(of text: String) -> [Substring] {
        var result: [Substring] = []
        var start = text.startIndex
        var index = text.startIndex
        // Character iteration treats "\r\n" as one Character.
        while index < text.endIndex {
            let character = text[index]
            if character == "\r\n" || character == "\n" || character == "\r" {
                result.append(text[start..<index])
                start = text.index(after: index)
            }
            index = text.index(after: index)
        }
        if start < text.endIndex { result.append(text[start...]) }
        return result
    }

    /// Pieces of at most `maxBytes` UTF-8 bytes, cut on scalar boundaries.
    static func split(_ line: Substring, maxBytes: Int) -> [Substring] {
        guard line.utf8.count > maxBytes else { return [line] }
        var pieces: [Substring] = []
        var start = line.startIndex
        var count = 0
        var index = line.unicodeScalars.startIndex
        while index < line.unicodeScalars.endIndex {
            let width = UTF8.width(line.unicodeScalars[index])
            if count + width > maxBytes {
                pieces.append(line[start..<index])
                start = index
                count = 0
            }
            count += width
            index = line.unicodeScalars.index(after: index)
        }
        pieces.append(line[start...])
        return pieces
    }

    /// `Thu, 26 Nov 2026 10:00:00 +0000`.
    static func rfc5322Date(_ seconds: Int64) -> String {
        let time = CivilTime(unixSeconds: seconds)
        let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(weekdays[time.weekday]), \(two(time.day)) \(months[Int(time.month) - 1]) \(time.year) "
            + "\(two(time.hour)):\(two(time.minute)):\(two(time.second)) +0000"
    }
}
