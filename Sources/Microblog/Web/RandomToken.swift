import Foundation

/// Unguessable tokens for sessions, CSRF and remember-me.
enum RandomToken {
    /// 32 random bytes from the system's CSPRNG, base64url without padding.
    static func make(byteCount: Int = 32) -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<byteCount).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return Data(bytes).base64URLEncodedString()
    }
}
