import CICUSpoof
import Foundation

/// UTS #39 (Unicode security mechanisms) for usernames, through the system's ICU: the key that names which look alike
/// share, and whether a name mixes scripts past the "moderately restrictive" level.
///
/// The key of a name is the skeleton of its case-folded skeleton: NFKC, then the skeleton (NFD, every character
/// mapped to the prototype of its confusables set, NFD), then ``IdentityKey``'s folding (NFKC, lower case), then the
/// skeleton again. The first skeleton sees the name as written, where capital `I` looks like `l`; the folding makes
/// every spelling of one name share the key; the last skeleton maps what folding produced. `paypal`, `pаypal`
/// (Cyrillic а), `PAYPAL`, `paypaI` and `paypa1` share one key; so do `modern` and `rnodern`.
package enum LookAlikeKey {
    /// The ICU data the keys come from, as "<Unicode version>/<ICU version>" (e.g. "15.0.0.0/72.1.0.0"): stored beside
    /// the keys, which a store computes again when it changes.
    static let dataVersion: String = {
        var buffer = [CChar](repeating: 0, count: 64)
        microblog_icu_versions(&buffer, Int32(buffer.count))
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()

    /// Throws when ICU's spoof checker cannot be opened (its data is part of the ICU install): the application does
    /// not start without the look-alike rules.
    static func checkAvailable() throws(Unavailable) {
        if SpoofChecker.shared == nil { throw Unavailable() }
    }

    struct Unavailable: Error, CustomStringConvertible {
        var description: String { "ICU's spoof checker (uspoof_open) failed: the look-alike name rules cannot run" }
    }

    /// The key `username` shares with every name that looks like it.
    package static func of(_ username: String) -> IdentityKey {
        let written = username.precomposedStringWithCompatibilityMapping
        let folded = IdentityKey(skeleton(written)).rawValue
        return IdentityKey(normalised: skeleton(folded))
    }

    /// How a name mixes scripts or digit systems, if it does past "moderately restrictive": a single script, Latin with
    /// the Chinese, Japanese or Korean scripts, or Latin with one other script except Greek and Cyrillic.
    package static func mixing(_ username: String) -> Mixing? {
        guard let checker = SpoofChecker.shared else { return nil }
        var name = username
        let failed = name.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { text in
                microblog_spoof_check(checker.pointer, text.baseAddress, Int32(clamping: text.count))
            }
        }
        if failed < 0 { return nil }
        if failed & Int32(MICROBLOG_SPOOF_MIXED_SCRIPTS) != 0 { return .scripts }
        if failed & Int32(MICROBLOG_SPOOF_MIXED_NUMBERS) != 0 { return .digits }
        return nil
    }

    package enum Mixing: Equatable {
        case scripts
        case digits
    }

    /// The UTS #39 skeleton of `text`; `text` itself if ICU fails (it does not for valid UTF-8 with its data loaded).
    private static func skeleton(_ text: String) -> String {
        guard let checker = SpoofChecker.shared else { return text }
        var input = text
        return input.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { source -> String in
                let length = Int32(clamping: source.count)
                // A skeleton is rarely longer than its name; one retry with the length ICU asks for.
                var capacity = max(64, source.count * 2)
                for _ in 0..<2 {
                    var buffer = [CChar](repeating: 0, count: capacity)
                    let written = microblog_spoof_skeleton(checker.pointer, source.baseAddress, length, &buffer, Int32(clamping: capacity))
                    if written < 0 { return text }
                    if Int(written) <= capacity {
                        return String(decoding: buffer.prefix(Int(written)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
                    }
                    capacity = Int(written)
                }
                return text
            }
        }
    }
}

/// ICU's spoof checker, opened once and configured before any use, then only read: ICU's checks and skeletons on a
/// configured checker are thread-safe (`uspoof.h`, "Thread Safety"), so one instance serves every thread.
private final class SpoofChecker: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer

    /// The process's checker; nil when ICU cannot open one.
    static let shared: SpoofChecker? = microblog_spoof_open().map(SpoofChecker.init)

    private init(_ pointer: UnsafeMutableRawPointer) {
        self.pointer = pointer
    }
}

extension IdentityKey {
    /// A key whose text is already normalised (a look-alike key).
    fileprivate init(normalised text: String) {
        rawValue = text
    }
}
