import Foundation
import Testing
@testable import Microblog

@Suite("base64url without padding")
struct Base64URLTests {
    /// Foundation's base64 with the URL alphabet and no padding: the reference.
    static func reference(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    @Test("Encodes as Foundation does and decodes back, for every length from 0 to 100 bytes")
    func roundTrip() {
        var random = SeededRandom(seed: 64)
        for length in 0...100 {
            for _ in 0..<20 {
                let data = Data((0..<length).map { _ in UInt8(truncatingIfNeeded: random.next()) })
                let encoded = data.base64URLEncodedString()
                #expect(encoded == Self.reference(data))
                #expect(Data(base64URL: encoded.utf8) == data)
            }
        }
    }

    @Test("Refuses padding, the standard alphabet's + and /, other bytes, and a length no encoding has")
    func refusals() {
        #expect(Data(base64URL: "QQ==".utf8) == nil)
        #expect(Data(base64URL: "a+b/".utf8) == nil)
        #expect(Data(base64URL: "ab c".utf8) == nil)
        #expect(Data(base64URL: "abcde".utf8) == nil)
        #expect(Data(base64URL: "".utf8) == Data())
        #expect(Data(base64URL: "_-8".utf8) == Data([0xFF, 0xEF]))
    }
}
