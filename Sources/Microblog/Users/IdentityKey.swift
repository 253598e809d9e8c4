import Foundation

/// The one normalised form of a username or e-mail address, used both by ``UserRegistry`` and by the UNIQUE
/// indexes, so that the actor and SQLite (which compares bytes) never disagree about what is "the same name".
///
/// Normalisation: trim surrounding whitespace, Unicode NFKC, lower-case, NFKC again (lower-casing can
/// produce sequences that compose). `Alice`, `alice`, fullwidth `ＡＬＩＣＥ`, and `é` written as one or two
/// scalars all give one key.
package struct IdentityKey: Hashable, Sendable, CustomStringConvertible {
    /// The normalised string; compared by its UTF-8 bytes.
    package let rawValue: String

    package init(_ text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let folded = trimmed.precomposedStringWithCompatibilityMapping.lowercased()
        rawValue = folded.precomposedStringWithCompatibilityMapping
    }

    package var description: String { rawValue }

    package static func == (lhs: IdentityKey, rhs: IdentityKey) -> Bool {
        // Byte equality, like SQLite's BINARY collation; String's `==` is canonical equivalence.
        lhs.rawValue.utf8.elementsEqual(rhs.rawValue.utf8)
    }

    package func hash(into hasher: inout Hasher) {
        for byte in rawValue.utf8 { hasher.combine(byte) }
    }
}
