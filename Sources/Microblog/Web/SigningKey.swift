import Crypto
import Foundation

extension SymmetricKey {
    /// A key of its own for one use of `SECRET_KEY` (HKDF-SHA256 with the use as its info), so that a MAC made for
    /// one purpose is never valid for another.
    static func derived(fromSecretKey secretKey: String, for use: String) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: Data(secretKey.utf8)),
            info: Data(use.utf8),
            outputByteCount: 32
        )
    }
}

/// The keys of one use of the secret: the current `SECRET_KEY`'s first, then those of `SECRET_KEY_FALLBACKS`
/// (Django's name). Values are signed with the current key only and verified with any, so a rolling deploy with a new
/// key logs nobody out, and dropping an old key from the fallbacks retires what it signed.
struct SigningKeys: Sendable {
    /// What new values are signed with.
    let current: SymmetricKey
    /// What values are verified with: ``current`` first.
    let all: [SymmetricKey]

    init(secretKey: String, fallbacks: [String], for use: String) {
        current = .derived(fromSecretKey: secretKey, for: use)
        all = [current] + fallbacks.map { .derived(fromSecretKey: $0, for: use) }
    }
}
