import Foundation
import Hummingbird
import Mustache

/// The Mustache templates, loaded once, rendered with typed view models, every value escaped per Unicode scalar.
public struct Views: Sendable {
    /// The name of ``ScalarHTMLContentType``; every template and partial declares it with
    /// `{{% CONTENT_TYPE: SCALAR_HTML }}`.
    public static let contentTypeName = "SCALAR_HTML"
    let library: MustacheLibrary

    /// Loads every template from the package's resources.
    public static func load() async throws -> Views {
        MustacheContentTypes.register(ScalarHTMLContentType(), named: contentTypeName)
        guard let directory = Bundle.module.resourceURL?.appendingPathComponent("Templates").path else {
            throw ViewError.templatesMissing
        }
        return Views(library: try await MustacheLibrary(directory: directory))
    }

    /// The folder the templates are loaded from (tests read it to check every template).
    public static var templateDirectory: URL? {
        Bundle.module.resourceURL?.appendingPathComponent("Templates")
    }

    /// Renders `template` with `model`.
    /// - Throws: ``ViewError/templateMissing(_:)`` for an unknown template name.
    public func render(_ template: String, _ model: some Sendable) throws(ViewError) -> String {
        guard let html = library.render(model, withTemplate: template) else { throw .templateMissing(template) }
        return html
    }

    /// A page: rendered HTML with the given status.
    public func page(_ template: String, _ model: some Sendable, status: HTTPResponse.Status = .ok) throws(ViewError) -> Response {
        .html(try render(template, model), status: status)
    }
}

/// Why a page could not be rendered.
public enum ViewError: Error, Sendable, Equatable {
    case templatesMissing
    case templateMissing(String)
}

/// HTML escaping per Unicode scalar. swift-mustache's own escaper walks grapheme clusters, so a `"` followed by
/// a combining mark is one cluster that matches no replacement and leaves the attribute raw.
struct ScalarHTMLContentType: MustacheContentType {
    private static let needsEscaping: [Bool] = (0...255).map { byte in
        [UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "&"), UInt8(ascii: "\""), UInt8(ascii: "'")].contains(UInt8(byte))
    }

    func escapeText(_ text: String) -> String {
        // Most values need no escaping: one pass over the bytes decides (all five characters are ASCII).
        guard Self.containsSpecial(text) else { return text }
        // Byte by byte: the five are ASCII, and no byte of a multi-byte UTF-8 sequence is, so this escapes per
        // scalar (a quote before a combining mark too) without decoding scalars.
        var output: [UInt8] = []
        output.reserveCapacity(text.utf8.count + 16)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "<"): output.append(contentsOf: "&lt;".utf8)
            case UInt8(ascii: ">"): output.append(contentsOf: "&gt;".utf8)
            case UInt8(ascii: "&"): output.append(contentsOf: "&amp;".utf8)
            case UInt8(ascii: "\""): output.append(contentsOf: "&quot;".utf8)
            case UInt8(ascii: "'"): output.append(contentsOf: "&#39;".utf8)
            default: output.append(byte)
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Whether `text` has a byte that must be escaped: a plain loop over its contiguous UTF-8 when it has one.
    private static func containsSpecial(_ text: String) -> Bool {
        let table = needsEscaping
        let scanned = text.utf8.withContiguousStorageIfAvailable { bytes in
            for byte in bytes where table[Int(byte)] { return true }
            return false
        }
        return scanned ?? text.utf8.contains { table[Int($0)] }
    }
}

extension Response {
    /// An HTML page, `text/html; charset=utf-8`.
    static func html(_ html: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status,
            headers: [.contentType: "text/html; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: html))
        )
    }

    /// A 302 to a path on this site.
    static func redirect(to path: String) -> Response {
        Response(status: .found, headers: [.location: path])
    }
}
