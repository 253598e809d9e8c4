import Foundation
import HummingbirdTesting
import NIOCore
import MustacheReference
import Testing
@testable import Microblog

@Suite("Every interpolated value is HTML-escaped per Unicode scalar")
struct EscapingTests {
    @Test("A quote followed by a combining mark is escaped (swift-mustache's own escaper leaves it raw)")
    func combiningQuote() {
        func escaped(_ text: String) -> String {
            var writer = HTMLWriter()
            writer.write(escaping: text)
            return String(buffer: writer.buffer)
        }
        #expect(escaped("\"\u{301} onmouseover=x") == "&quot;\u{301} onmouseover=x")
        #expect(escaped("<script>&'") == "&lt;script&gt;&amp;&#39;")
        #expect(escaped("a\0b\u{202E}c👩‍👩‍👧") == "a\0b\u{202E}c👩‍👩‍👧")
    }

    @Test("Every template and partial declares the scalar escaper, so swift-mustache escapes as the compiled pages do")
    func everyTemplateDeclaresIt() throws {
        let directory = MustacheReference.templateDirectory
        let files = try #require(FileManager.default.enumerator(atPath: directory.path)).compactMap { $0 as? String }
            .filter { $0.hasSuffix(".mustache") }
        #expect(files.count >= 13)
        for file in files {
            let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            #expect(text.hasPrefix("{{% CONTENT_TYPE: SCALAR_HTML }}"), "\(file) does not declare the escaper")
        }
    }

    @Test("HTML and attribute-breaking payloads in about_me and posts come out escaped on every page", arguments: Backend.all)
    func payloadsEscaped(_ backend: Backend) async throws {
        let env = try await TestEnvironment(backend)
        defer { env.removeFiles() }
        let payload = "\"\u{301}><script>alert(1)</script><img src=x onerror=alert(2)>'"
        try await env.withApp { client in
            let browser = Browser(client)
            try await browser.signUp("alice")
            let saved = try await browser.post("/edit_profile", [("username", "alice"), ("about_me", payload)])
            #expect(saved.status == .found)
            let posted = try await browser.post("/index", [("post", payload)])
            #expect(posted.status == .found)
            for path in ["/index", "/user/alice", "/edit_profile"] {
                let page = try await browser.get(path)
                #expect(page.status == .ok)
                #expect(!page.contains("<script>"), "\(path)")
                #expect(!page.contains("<img src=x"), "\(path)")
                let rawQuote = "\"\u{301}"
                #expect(!page.contains(rawQuote), "\(path)")
                #expect(page.contains("&lt;script&gt;"), "\(path)")
            }
        }
    }
}
