import Foundation

/// base64url without padding (RFC 4648 section 5), as cookies and form fields carry it: a table lookup per byte,
/// because every signed cookie and token of a request is encoded or decoded on its way.
extension Data {
    private static let base64URLAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// Each alphabet byte's 6-bit value; 0xFF for any other byte.
    private static let base64URLValues: [UInt8] = {
        var values = [UInt8](repeating: 0xFF, count: 256)
        for (value, byte) in base64URLAlphabet.enumerated() { values[Int(byte)] = UInt8(value) }
        return values
    }()

    func base64URLEncodedString() -> String {
        let alphabet = Self.base64URLAlphabet
        var output = [UInt8]()
        output.reserveCapacity((count * 4 + 2) / 3)
        var index = startIndex
        while index < endIndex {
            let remaining = endIndex - index
            let first = self[index]
            let second: UInt8 = remaining > 1 ? self[index + 1] : 0
            let third: UInt8 = remaining > 2 ? self[index + 2] : 0
            output.append(alphabet[Int(first >> 2)])
            output.append(alphabet[Int((first & 0x03) << 4 | second >> 4)])
            if remaining > 1 { output.append(alphabet[Int((second & 0x0F) << 2 | third >> 6)]) }
            if remaining > 2 { output.append(alphabet[Int(third & 0x3F)]) }
            index += Swift.min(3, remaining)
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Decodes base64url without padding; nil for any other byte or an impossible length. Bits past the last whole
    /// byte are ignored, as Foundation's decoder ignores them: compare tokens whole, never their decoded bytes alone.
    init?(base64URL bytes: some Collection<UInt8>) {
        let table = Self.base64URLValues
        var decoded = Data()
        decoded.reserveCapacity(bytes.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        for byte in bytes {
            let value = table[Int(byte)]
            guard value != 0xFF else { return nil }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                decoded.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
                accumulator &= (1 << UInt32(bits)) - 1
            }
        }
        guard bits < 6 else { return nil }
        self = decoded
    }

    static func isBase64URLByte(_ byte: UInt8) -> Bool {
        base64URLValues[Int(byte)] != 0xFF
    }
}
