import Foundation

/// The one normalised form of a username or e-mail address, used both by ``UserRegistry`` and by the UNIQUE
/// indexes, so that the actor and SQLite (which compares bytes) never disagree about what is "the same name".
///
/// Normalisation: trim surrounding whitespace, Unicode NFKC, lower-case, NFKC again (lower-casing can
/// produce sequences that compose). `Alice`, `alice`, fullwidth `ＡＬＩＣＥ`, and `é` written as one or two
/// scalars all give one key.
public struct IdentityKey: Hashable, Sendable, CustomStringConvertible {
    /// The normalised string; compared by its UTF-8 bytes.
    public let rawValue: String

    public init(_ text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let folded = trimmed.precomposedStringWithCompatibilityMapping.lowercased()
        rawValue = folded.precomposedStringWithCompatibilityMapping
    }

    public var description: String { rawValue }

    public static func == (lhs: IdentityKey, rhs: IdentityKey) -> Bool {
        // Byte equality, like SQLite's BINARY collation; String's `==` is canonical equivalence.
        lhs.rawValue.utf8.elementsEqual(rhs.rawValue.utf8)
    }

    public func hash(into hasher: inout Hasher) {
        for byte in rawValue.utf8 { hasher.combine(byte) }
    }
}
