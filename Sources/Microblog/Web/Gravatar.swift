import Crypto
import Foundation

/// Avatar URLs: `https://www.gravatar.com/avatar/<md5 of trimmed, lower-cased e-mail>?d=identicon&s=<size>`.
enum Gravatar {
    private static let hexDigits = Array("0123456789abcdef".utf8)

    static func url(email: String, size: Int) -> String {
        let normalised = email.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        let digest = Insecure.MD5.hash(data: Data(normalised.utf8))
        var hex = [UInt8]()
        hex.reserveCapacity(32)
        for byte in digest {
            hex.append(hexDigits[Int(byte >> 4)])
            hex.append(hexDigits[Int(byte & 0x0F)])
        }
        return "https://www.gravatar.com/avatar/\(String(decoding: hex, as: UTF8.self))?d=identicon&s=\(size)"
    }
}
