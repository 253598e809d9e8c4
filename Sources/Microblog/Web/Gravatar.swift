import Crypto
import Foundation

/// Avatar URLs: `https://www.gravatar.com/avatar/<md5 of trimmed, lower-cased e-mail>?d=identicon&s=<size>`.
package enum Gravatar {
    private static let hexDigits = Array("0123456789abcdef".utf8)

    package static func url(email: String, size: Int) -> String {
        let normalised = trimmed(email).lowercased()
        let digest = Insecure.MD5.hash(data: Data(normalised.utf8))
        var hex = [UInt8]()
        hex.reserveCapacity(32)
        for byte in digest {
            hex.append(hexDigits[Int(byte >> 4)])
            hex.append(hexDigits[Int(byte & 0x0F)])
        }
        return "https://www.gravatar.com/avatar/\(String(decoding: hex, as: UTF8.self))?d=identicon&s=\(size)"
    }

    /// `text` without white space and newlines at either end. Foundation's trimming (a Unicode table per scalar)
    /// runs only when an end is white space: stored addresses never are, and this runs for every avatar.
    private static func trimmed(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard let first = scalars.first, let last = scalars.last,
              first.properties.isWhitespace || last.properties.isWhitespace
        else { return text }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
