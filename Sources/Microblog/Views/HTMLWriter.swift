import NIOCore

/// The bytes of a page being rendered: template text as it is, every value escaped per Unicode scalar.
///
/// Compiled templates write through it (`CompiledViews.swift`, generated at build time from `Views/Templates`).
/// Escaping replaces `<`, `>`, `&`, `"` and `'` byte by byte: all five are ASCII and no byte of a multi-byte UTF-8
/// sequence is, so a quote before a combining mark is escaped too (swift-mustache's own escaper, which walks
/// grapheme clusters, leaves it raw).
package struct HTMLWriter {
    package private(set) var buffer: ByteBuffer
    /// Indentation owed before the next byte written: a partial or block that starts a line indents its first
    /// line only if it writes anything.
    private var pendingIndent: StaticString?

    package init(capacity: Int = 8192) {
        buffer = ByteBufferAllocator().buffer(capacity: capacity)
    }

    /// The number of bytes written.
    var count: Int { buffer.writerIndex }

    mutating func write(_ text: StaticString) {
        flushIndent()
        buffer.writeStaticString(text)
    }

    mutating func write(escaping text: String) {
        guard !text.isEmpty else { return }
        flushIndent()
        // Most values have nothing to escape: one pass over the bytes decides, and the string is copied whole.
        guard Self.containsEscapable(text.utf8) else {
            buffer.writeString(text)
            return
        }
        let utf8 = text.utf8
        var start = utf8.startIndex
        var index = start
        while index != utf8.endIndex {
            let replacement: StaticString
            switch utf8[index] {
            case UInt8(ascii: "<"): replacement = "&lt;"
            case UInt8(ascii: ">"): replacement = "&gt;"
            case UInt8(ascii: "&"): replacement = "&amp;"
            case UInt8(ascii: "\""): replacement = "&quot;"
            case UInt8(ascii: "'"): replacement = "&#39;"
            default:
                utf8.formIndex(after: &index)
                continue
            }
            buffer.writeSubstring(Substring(utf8[start..<index]))
            buffer.writeStaticString(replacement)
            utf8.formIndex(after: &index)
            start = index
        }
        buffer.writeSubstring(Substring(utf8[start..<index]))
    }

    /// Whether any byte needs escaping: a plain loop over the string's contiguous bytes (every native string's), free
    /// of the per-byte closure call `contains(where:)` costs when it is not inlined and of `UTF8View`'s per-byte checks.
    private static func containsEscapable(_ utf8: String.UTF8View) -> Bool {
        let contiguous = utf8.withContiguousStorageIfAvailable { bytes in
            for byte in bytes where needsEscaping(byte) {
                return true
            }
            return false
        }
        if let contiguous { return contiguous }
        for byte in utf8 where needsEscaping(byte) {
            return true
        }
        return false
    }

    private static func needsEscaping(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "&"), UInt8(ascii: "\""), UInt8(ascii: "'"): true
        default: false
        }
    }

    /// Whether what was written since `start` ends a line: its last character is a newline (`\r\n` is one
    /// character, and not a newline by this test, as in swift-mustache).
    func endsWithNewline(since start: Int) -> Bool {
        let end = buffer.writerIndex
        guard end > start, buffer.getInteger(at: end - 1, as: UInt8.self) == UInt8(ascii: "\n") else { return false }
        return end - 1 == start || buffer.getInteger(at: end - 2, as: UInt8.self) != UInt8(ascii: "\r")
    }

    /// Writes `indentation` before the next byte, if one is written before ``cancelIndent()``.
    mutating func indentNextWrite(_ indentation: StaticString) {
        pendingIndent = indentation
    }

    mutating func cancelIndent() {
        pendingIndent = nil
    }

    private mutating func flushIndent() {
        if let indent = pendingIndent {
            pendingIndent = nil
            buffer.writeStaticString(indent)
        }
    }
}
