import Foundation

/// The `.mustache` files under a folder, parsed, by the names partials use (`errors/404` for `errors/404.mustache`).
struct TemplateFolder {
    var path: String

    func templates() throws -> [String: Template] {
        let root = URL(fileURLWithPath: path).standardizedFileURL
        guard let files = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else {
            throw TemplateError(location: Location(path: path, line: 1), message: "cannot read the folder")
        }
        var templates: [String: Template] = [:]
        for case let file as URL in files where file.pathExtension == "mustache" {
            let filePath = file.standardizedFileURL.path
            let name = String(filePath.dropFirst(root.path.count + 1).dropLast(".mustache".count))
            let text = try String(contentsOf: file, encoding: .utf8)
            var parser = TemplateParser(text: text, path: filePath)
            let nodes = try parser.parse()
            guard case .contentType("SCALAR_HTML", _)? = nodes.first else {
                // swift-mustache, the reference the tests compare with, then escapes as the compiled page does.
                throw TemplateError(
                    location: Location(path: filePath, line: 1),
                    message: "a template starts with {{% CONTENT_TYPE: SCALAR_HTML }}"
                )
            }
            templates[name] = Template(name: name, path: filePath, model: parser.model, nodes: nodes)
        }
        return templates
    }
}
