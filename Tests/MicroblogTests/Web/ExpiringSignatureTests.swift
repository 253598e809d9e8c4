import Foundation
import Testing
@testable import Microblog

@Suite("ExpiringSignature: <expiry>.<payload>.<MAC>")
struct ExpiringSignatureTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static func signer(_ key: String = "key-A", fallbacks: [String] = []) -> ExpiringSignature {
        ExpiringSignature(secretKey: key, fallbacks: fallbacks, for: "test", lifetime: .seconds(300), maximumLength: 128)
    }

    @Test("A value gives its payload back for its binding until it expires, and nothing for another binding, key or use")
    func roundTrip() {
        let signer = Self.signer()
        let value = signer.sign("payload-1", boundTo: "alice", now: Self.now)
        #expect(value.hasPrefix("\(Int(Self.now.timeIntervalSince1970) + 300).payload-1."))
        #expect(signer.payload(of: value[...], boundTo: "alice", now: Self.now) == "payload-1")
        #expect(signer.payload(of: value[...], boundTo: "alice", now: Self.now + 299) == "payload-1")
        #expect(signer.payload(of: value[...], boundTo: "alice", now: Self.now + 300) == nil, "expired")
        #expect(signer.payload(of: value[...], boundTo: "bob", now: Self.now) == nil, "another binding")
        #expect(Self.signer("key-B").payload(of: value[...], boundTo: "alice", now: Self.now) == nil, "another key")
        let otherUse = ExpiringSignature(secretKey: "key-A", fallbacks: [], for: "other", lifetime: .seconds(300), maximumLength: 128)
        #expect(otherUse.payload(of: value[...], boundTo: "alice", now: Self.now) == nil, "another use of the same key")
        #expect(Self.signer("key-B", fallbacks: ["key-A"]).payload(of: value[...], boundTo: "alice", now: Self.now) == "payload-1", "a fallback")
    }

    @Test("Only this server's spelling verifies: the expiry canonical and within the lifetime, the payload and MAC as signed, the length bounded")
    func spellings() throws {
        let signer = Self.signer()
        let value = signer.sign("p", boundTo: "", now: Self.now)
        let parts = value.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        try #require(parts.count == 3)
        let refused = [
            "0\(parts[0]).p.\(parts[2])",  // a leading zero
            "+\(parts[0]).p.\(parts[2])",  // a sign
            "\(parts[0]).q.\(parts[2])",  // another payload
            "\(parts[0]).p.\(parts[2]).",  // a trailing dot
            "\(parts[0]).p",
            "\(parts[0]).p.\(parts[2].dropLast())",
            "",
        ]
        for spelling in refused {
            #expect(signer.payload(of: spelling[...], boundTo: "", now: Self.now) == nil, "\(spelling)")
        }
        // Correctly signed for a time a year ahead: only the lifetime bound refuses it now.
        let ahead = signer.sign("p", boundTo: "", now: Self.now + 365 * 86_400)
        #expect(signer.payload(of: ahead[...], boundTo: "", now: Self.now + 365 * 86_400) == "p")
        #expect(signer.payload(of: ahead[...], boundTo: "", now: Self.now) == nil)
        // Past the length bound, even a genuine value is not read.
        let long = signer.sign(String(repeating: "x", count: 100), boundTo: "", now: Self.now)
        #expect(long.utf8.count > 128)
        #expect(signer.payload(of: long[...], boundTo: "", now: Self.now) == nil)
    }
}
