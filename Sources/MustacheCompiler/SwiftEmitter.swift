/// Turns a page template into Swift: a `render(into:)` method on its page model that writes into an `HTMLWriter`,
/// with partials and the parent layout inlined and every name resolved when the page is compiled.
///
/// Names (the scoping rule of docs/templates.md): outside any section a name is a member of the page model; inside a section,
/// a bare name is a member of the section's element, `.` is the element itself, and a dotted name is a path from
/// the page model. Sections and values are emitted as calls whose overloads admit only the kinds a template may use
/// (see `TemplateSections.swift`), so a missing field or a section over the wrong kind fails the Swift type check,
/// and `#sourceLocation` puts that error on the template's line.
///
/// Whitespace follows swift-mustache: a standalone partial, and a parent's block, indent each token that starts a
/// line of their output, where a line starts after a newline written by the same template render (a partial, a
/// block, or one pass of a section), never before its first token.
struct SwiftEmitter {
    /// Every template by name, for partials and parents.
    let templates: [String: Template]
    /// Whether to declare the `CompiledView` conformance (left out when the code is type-checked outside the module).
    var declaresConformance = true

    private var code: [String] = []
    private var depth = 0
    private var nextID = 0

    init(templates: [String: Template], declaresConformance: Bool = true) {
        self.templates = templates
        self.declaresConformance = declaresConformance
    }

    /// What a frame (one render of a template, block, or section pass) has written so far, as far as is known here.
    private enum Tail {
        case nothing, newline, otherText, unknown
    }

    /// Where names resolve and how output is indented.
    private struct Context {
        /// The Swift expression of the current element: `self` (the page model) outside sections.
        var element = "self"
        /// `.` has no value inside an inverted section (swift-mustache would give the empty list, or the outer element).
        var dotAllowed = true
        var indentation = ""
        var overrides: [String: [Node]] = [:]
        /// The partials being inlined, to refuse a partial that includes itself.
        var partials: [String] = []
    }

    mutating func emit(page template: Template) throws(TemplateError) -> String {
        guard let model = template.model else { preconditionFailure("only pages are emitted") }
        code = []
        depth = 0
        line("extension \(model)\(declaresConformance ? ": CompiledView" : "") {")
        depth += 1
        line("/// Renders `\(template.name).mustache`.")
        line("package func render(into html: inout HTMLWriter) {")
        depth += 1
        try frame(template.nodes, Context(partials: [template.name]))
        depth -= 1
        line("}")
        depth -= 1
        line("}")
        return code.joined(separator: "\n") + "\n"
    }

    // MARK: Frames

    /// One render of `nodes`: its own record of what it wrote, for indentation.
    private mutating func frame(_ nodes: [Node], _ context: Context) throws(TemplateError) {
        let startLine = code.count
        let start = "start\(newID())"
        var usesStart = false
        var tail = Tail.nothing
        var pendingText = ""

        func flushText(_ emitter: inout SwiftEmitter) {
            guard !pendingText.isEmpty else { return }
            emitter.line("html.write(\(swiftLiteral(pendingText)))")
            pendingText = ""
        }
        /// Whether the next token starts a line: a Swift condition, or nil when it does not (or nothing indents).
        func startsLine() -> String? {
            guard !context.indentation.isEmpty else { return nil }
            switch tail {
            case .newline: return "true"
            case .unknown:
                usesStart = true
                return "html.endsWithNewline(since: \(start))"
            case .nothing, .otherText: return nil
            }
        }

        for node in nodes {
            switch node {
            case .text(let text):
                switch startsLine() {
                case "true": pendingText += context.indentation
                case let condition?:
                    flushText(&self)
                    line("if \(condition) { html.write(\(swiftLiteral(context.indentation))) }")
                case nil: break
                }
                pendingText += text
                tail = text.last == "\n" ? .newline : .otherText

            case .variable(let name, let location):
                let value = try resolve(name, context, location)
                flushText(&self)
                if let condition = startsLine() {
                    let id = newID()
                    mapped(location, "let value\(id) = \(value)")
                    let test = condition == "true" ? "!value\(id).isEmpty" : "!value\(id).isEmpty && \(condition)"
                    line("if \(test) { html.write(\(swiftLiteral(context.indentation))) }")
                    line("html.write(escaping: value\(id))")
                } else {
                    mapped(location, "html.write(escaping: \(value))")
                }
                tail = .unknown

            case .section(let name, let body, let location), .invertedSection(let name, let body, let location):
                let value = try resolve(name, context, location)
                flushText(&self)
                let indents = indentNext(startsLine(), context)
                var inner = context
                if case .section = node {
                    let element = "element\(newID())"
                    inner.element = element
                    inner.dotAllowed = true
                    mapped(location, "html.section(\(value), in: \(context.element)) { html, \(element) in")
                } else {
                    inner.dotAllowed = false
                    mapped(location, "html.invertedSection(\(value)) { html in")
                }
                depth += 1
                try frame(body, inner)
                depth -= 1
                line("}")
                if indents { line("html.cancelIndent()") }
                tail = .unknown

            case .partial(let name, let indentation, let overrides, let location):
                guard let partial = templates[name] else {
                    throw TemplateError(location: location, message: "no template named \(name).mustache")
                }
                guard !context.partials.contains(name) else {
                    throw TemplateError(location: location, message: "\(name).mustache includes itself")
                }
                flushText(&self)
                let indents = indentNext(startsLine(), context)
                var inner = context
                inner.indentation += indentation ?? ""
                inner.partials.append(name)
                if let overrides {
                    inner.overrides = context.overrides.merging(overrides) { outer, _ in outer }
                }
                line("do { // \(name).mustache")
                depth += 1
                try frame(partial.nodes, inner)
                depth -= 1
                line("}")
                if indents { line("html.cancelIndent()") }
                tail = .unknown

            case .blockExpansion(let name, let body, let indentation, _):
                flushText(&self)
                let indents = indentNext(startsLine(), context)
                var inner = context
                inner.indentation += indentation
                line("do { // {{$\(name)}}")
                depth += 1
                try frame(context.overrides[name] ?? body, inner)
                depth -= 1
                line("}")
                if indents { line("html.cancelIndent()") }
                tail = .unknown

            case .blockDefinition(let name, _, let location):
                throw TemplateError(location: location, message: "{{$\(name)}} overrides a block only directly inside {{<parent}}")

            case .contentType:
                break
            }
        }
        flushText(&self)
        if usesStart {
            code.insert(String(repeating: "    ", count: depth) + "let \(start) = html.count", at: startLine)
        }
    }

    /// Before a nested render that starts a line: its first written byte is preceded by the indentation.
    private mutating func indentNext(_ condition: String?, _ context: Context) -> Bool {
        guard let condition else { return false }
        let call = "html.indentNextWrite(\(swiftLiteral(context.indentation)))"
        line(condition == "true" ? call : "if \(condition) { \(call) }")
        return true
    }

    // MARK: Names

    private static let keywords: Set<String> = [
        "as", "associatedtype", "break", "case", "catch", "class", "continue", "default", "defer", "deinit", "do", "else",
        "enum", "extension", "fallthrough", "false", "fileprivate", "for", "func", "guard", "if", "import", "in", "init",
        "inout", "internal", "is", "let", "nil", "open", "operator", "private", "protocol", "public", "repeat", "rethrows",
        "return", "self", "Self", "static", "struct", "subscript", "super", "switch", "throw", "throws", "true", "try",
        "Type", "typealias", "var", "where", "while", "Any",
    ]

    /// The Swift expression a name stands for.
    private func resolve(_ name: String, _ context: Context, _ location: Location) throws(TemplateError) -> String {
        if name == "." {
            guard context.dotAllowed else {
                throw TemplateError(location: location, message: "{{.}} has no value inside an inverted section")
            }
            return context.element
        }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        for part in parts where !Self.isIdentifier(part) {
            throw TemplateError(location: location, message: "\(name) is not a path of Swift property names")
        }
        let members = parts.map { Self.keywords.contains($0) ? "`\($0)`" : $0 }.joined(separator: ".")
        return parts.count == 1 ? "\(context.element).\(members)" : "self.\(members)"
    }

    private static func isIdentifier(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, first == "_" || first.properties.isAlphabetic else { return false }
        return text.unicodeScalars.allSatisfy { $0 == "_" || $0.properties.isAlphabetic || ("0"..."9").contains($0) }
    }

    // MARK: Code

    private mutating func newID() -> Int {
        nextID += 1
        return nextID
    }

    private mutating func line(_ text: String) {
        code.append(String(repeating: "    ", count: depth) + text)
    }

    /// A line whose type errors are reported at the template's line.
    private mutating func mapped(_ location: Location, _ text: String) {
        code.append("#sourceLocation(file: \(swiftLiteral(location.path)), line: \(location.line))")
        line(text)
        code.append("#sourceLocation()")
    }
}

/// `text` as a Swift string literal.
func swiftLiteral(_ text: String) -> String {
    var literal = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\\": literal += "\\\\"
        case "\"": literal += "\\\""
        case "\n": literal += "\\n"
        case "\r": literal += "\\r"
        case "\t": literal += "\\t"
        case _ where scalar.value < 0x20 || scalar.value == 0x7F:
            literal += "\\u{\(String(scalar.value, radix: 16))}"
        default: literal.unicodeScalars.append(scalar)
        }
    }
    return literal + "\""
}
