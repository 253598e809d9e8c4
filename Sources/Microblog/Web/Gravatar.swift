import Crypto
import Foundation

/// Avatar URLs: `https://www.gravatar.com/avatar/<md5 of trimmed, lower-cased e-mail>?d=identicon&s=<size>`.
enum Gravatar {
    static func url(email: String, size: Int) -> String {
        let normalised = email.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        let digest = Insecure.MD5.hash(data: Data(normalised.utf8))
        let hex = digest.map { String(format: "%02x", $0) }.joined()
        return "https://www.gravatar.com/avatar/\(hex)?d=identicon&s=\(size)"
    }
}
