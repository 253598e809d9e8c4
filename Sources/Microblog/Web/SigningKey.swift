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
