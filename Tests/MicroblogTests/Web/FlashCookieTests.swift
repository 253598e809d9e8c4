import Foundation
import HTTPTypes
import Hummingbird
import Testing
@testable import Microblog

@Suite("The flash cookie is accepted only as the server spells it")
struct FlashCookieTests {
    let cookies = FlashCookie(secretKey: "flash-test-secret-0123456789abcdef", secureCookies: false)

    func value(_ messages: [String] = ["Your post is now live!"]) -> String {
        cookies.cookie(for: messages).value
    }

    /// `text` with the last character replaced by the one whose 6 bits differ only in the lowest: the same bytes
    /// decode from both when those bits are past the last whole byte.
    func respelled(_ part: Substring) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        let last = alphabet.firstIndex(of: part.last!)!
        return String(part.dropLast()) + String(alphabet[last ^ 1])
    }

    @Test("Its own value gives the messages; another key's, an expired one, or a changed byte gives none")
    func acceptsOnlyItsOwn() {
        #expect(cookies.messages(inCookieValue: Substring(value(["one", "two"]))) == ["one", "two"])
        let other = FlashCookie(secretKey: "another-secret-0123456789abcdefghij", secureCookies: false)
        #expect(other.messages(inCookieValue: Substring(value())).isEmpty)
        let expired = cookies.cookie(for: ["old"], now: Date(timeIntervalSinceNow: -3600)).value
        #expect(cookies.messages(inCookieValue: Substring(expired)).isEmpty)
        var bytes = Array(value().utf8)
        bytes[bytes.count / 2] ^= 0x01
        #expect(cookies.messages(inCookieValue: Substring(String(decoding: bytes, as: UTF8.self))).isEmpty)
    }

    @Test("Another spelling of the same token is refused: a leading zero, or trailing bits in the text or the MAC")
    func refusesOtherSpellings() {
        // "hi" is 2 bytes in 3 base64url characters, and a 32-byte MAC is 43: both end with 2 unused bits.
        let parts = value(["hi"]).split(separator: ".", omittingEmptySubsequences: false)
        #expect(parts.count == 3)
        #expect(cookies.messages(inCookieValue: Substring(parts.joined(separator: "."))) == ["hi"])
        let variants = [
            ["0" + parts[0], parts[1], parts[2]],
            [parts[0], Substring(respelled(parts[1])), parts[2]],
            [parts[0], parts[1], Substring(respelled(parts[2]))],
        ]
        for variant in variants {
            #expect(Data(base64URL: variant[1].utf8) == Data(base64URL: parts[1].utf8))
            #expect(cookies.messages(inCookieValue: Substring(variant.joined(separator: "."))).isEmpty, "\(variant)")
        }
    }

    @Test("The cookie is found by name as Hummingbird finds it, whatever the other cookies")
    func cookieByName() {
        let header = "session=abc; flashy=no;flash=a=b.c; other"
        func makeRequest(_ fields: HTTPFields) -> Request {
            Request(head: .init(method: .get, scheme: "http", authority: "x", path: "/", headerFields: fields), body: .init(buffer: .init()))
        }
        let request = makeRequest([.cookie: header])
        #expect(request.cookieValue(named: "flash") == "a=b.c")
        #expect(request.cookieValue(named: "flash") == request.cookies["flash"]?.value[...])
        #expect(request.cookieValue(named: "session") == "abc")
        #expect(request.cookieValue(named: "missing") == nil)
        #expect(makeRequest([:]).cookieValue(named: "flash") == nil)
    }
}
