import Foundation
import Mustache

/// swift-mustache rendering the server's template files, with the escaping the compiled pages promise: the reference
/// the tests and the benchmarks hold the compiled templates to. The server does not use it.
package struct MustacheReference: Sendable {
    /// The templates' folder in the source tree.
    package static let templateDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Microblog/Views/Templates")

    package let library: MustacheLibrary

    /// Loads every template, with `SCALAR_HTML` (which each template declares) escaping as ``ScalarHTMLContentType``.
    package static func load() async throws -> MustacheReference {
        MustacheContentTypes.register(ScalarHTMLContentType(), named: "SCALAR_HTML")
        return MustacheReference(library: try await MustacheLibrary(directory: templateDirectory.path))
    }

    package func render(_ template: String, _ model: Any) -> String? {
        library.render(model, withTemplate: template)
    }
}

/// HTML escaping per Unicode scalar, written the plain way (a scalar at a time), as the compiled pages escape.
package struct ScalarHTMLContentType: MustacheContentType {
    package init() {}

    package func escapeText(_ text: String) -> String {
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
