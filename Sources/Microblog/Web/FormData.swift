import Foundation
import Hummingbird

/// An `application/x-www-form-urlencoded` body, decoded by the project: strict about syntax (a malformed body
/// is a 400), and keeping each value's raw bytes so that invalid UTF-8 and control characters become form errors
/// instead of being silently replaced or truncated.
package struct FormData: Sendable, Equatable {
    /// Forms are small; a larger body is answered with 413.
    package static let maximumBodySize = 64 * 1024

    private var fields: [String: [UInt8]]

    /// Why a body is not a form.
    package enum Malformed: Error, Sendable, Equatable {
        case badPercentEncoding
        case duplicateField(String)
        case badFieldName
    }

    /// A form with no fields (a POST whose body was empty).
    package static let empty = FormData()

    private init() {
        fields = [:]
    }

    /// Parses a body; field names must be ASCII.
    package init(body: some Collection<UInt8>) throws(Malformed) {
        fields = [:]
        guard !body.isEmpty else { return }
        for pair in body.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            let nameBytes = try Self.percentDecode(parts[0])
            let value = parts.count > 1 ? try Self.percentDecode(parts[1]) : []
            guard !nameBytes.isEmpty, nameBytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { throw .badFieldName }
            let name = String(decoding: nameBytes, as: UTF8.self)
            guard fields[name] == nil else { throw .duplicateField(name) }
            fields[name] = value
        }
    }

    /// The field's text as sent, to put back into a re-rendered form; empty when missing or not valid UTF-8.
    package func echo(_ name: String) -> String {
        if case .text(let value) = text(name) { return value }
        return ""
    }

    /// The raw value of a field, if it was sent.
    package func raw(_ name: String) -> [UInt8]? { fields[name] }

    /// A field as text, or why it is not acceptable text.
    package func text(_ name: String) -> FieldText {
        guard let bytes = fields[name] else { return .missing }
        guard let string = String(validating: bytes, as: UTF8.self) else { return .invalid }
        return .text(string)
    }

    private static func percentDecode(_ bytes: some Collection<UInt8>) throws(Malformed) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var iterator = bytes.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "+"):
                output.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                    throw .badPercentEncoding
                }
                output.append(high << 4 | low)
            default:
                output.append(byte)
            }
        }
        return output
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// One field of a form, read as text.
package enum FieldText: Sendable, Equatable {
    case missing
    case invalid
    case text(String)
}
