import Foundation
import Mustache
import NIOCore
@testable import Microblog

/// swift-mustache rendering the same template files: the reference the compiled pages are held to.
struct MustacheReference {
    /// The templates' folder in the source tree.
    static let templateDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources/Microblog/Views/Templates")

    let library: MustacheLibrary

    static func load() async throws -> MustacheReference {
        MustacheContentTypes.register(ScalarHTMLContentType(), named: "SCALAR_HTML")
        return MustacheReference(library: try await MustacheLibrary(directory: templateDirectory.path))
    }

    func render(_ template: String, _ model: Any) -> String? {
        library.render(model, withTemplate: template)
    }
}

/// HTML escaping per Unicode scalar, written the plain way (a scalar at a time) for swift-mustache, so the reference
/// escapes as the compiled pages promise to.
struct ScalarHTMLContentType: MustacheContentType {
    func escapeText(_ text: String) -> String {
        var escaped = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "&": escaped += "&amp;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }
}

extension CompiledView {
    /// The compiled page as text.
    var html: String {
        var writer = HTMLWriter()
        render(into: &writer)
        return String(buffer: writer.buffer)
    }
}
