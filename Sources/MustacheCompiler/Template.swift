/// A parsed `.mustache` file: its name as partials name it, its page model (if it is a page), its nodes.
struct Template {
    /// The path below the templates folder without `.mustache`, e.g. `errors/404`.
    var name: String
    /// The file, for diagnostics and `#sourceLocation`.
    var path: String
    /// The type named by a `{{! model: TypeName }}` comment: the template is a page rendered from that type.
    /// Templates without one are partials and layouts, inlined where they are used.
    var model: String?
    var nodes: [Node]
}

/// Where a node came from.
struct Location: Hashable {
    var path: String
    var line: Int
}

/// One token of a template, as swift-mustache 2.1.1 tokenizes it (the compiled output must equal its rendering).
indirect enum Node {
    case text(String)
    case variable(String, Location)
    case section(String, [Node], Location)
    case invertedSection(String, [Node], Location)
    /// `{{$name}}` directly inside `{{<parent}}`: overrides the parent's block.
    case blockDefinition(String, [Node], Location)
    /// `{{$name}}` anywhere else: the block's default content, or the override of the page that includes this file.
    case blockExpansion(String, [Node], indentation: String, Location)
    /// `{{>name}}` (no overrides) or `{{<name}}...{{/name}}` (with them). A standalone `{{>name}}` indents every
    /// line of the partial by the whitespace before it.
    case partial(String, indentation: String?, overrides: [String: [Node]]?, Location)
    case contentType(String, Location)
}

/// A template error, reported as `path:line: error: message` so the build shows where it is.
struct TemplateError: Error, CustomStringConvertible {
    var location: Location
    var message: String

    var description: String { "\(location.path):\(location.line): error: \(message)" }
}
