/// Reads a template into nodes with swift-mustache 2.1.1's rules for whitespace: which tags stand alone on their
/// line (and so take the line with them), which whitespace becomes text, how partials and blocks are indented.
/// The differential tests hold the compiled pages to swift-mustache's rendering, so these rules must be its rules.
///
/// Unsupported, and an error: set-delimiter tags, unescaped `{{{x}}}` and `{{&x}}`, dynamic partials, transforms.
struct TemplateParser {
    private let text: String
    private let path: String
    private var position: String.Index
    /// The `{{! model: T }}` comment's `T`.
    private(set) var model: String?

    /// What the parser knows about where it is.
    private struct State {
        var sectionName: String?
        /// At the start of a line: leading whitespace is read apart, and a lone tag takes the whole line.
        var newLine = true
        /// Inside `{{<parent}}...{{/parent}}`.
        var isPartialDefinition = false
        /// Directly inside it, where `{{$block}}` defines an override.
        var isPartialDefinitionTopLevel = false
        /// The first line's indentation of an override's body, removed from each of its lines.
        var partialDefinitionIndent: Substring?

        func inSection(_ name: String, standalone: Bool) -> State {
            var state = self
            state.sectionName = name
            state.isPartialDefinitionTopLevel = false
            if !standalone { state.newLine = false }
            return state
        }

        func inParent(_ name: String) -> State {
            var state = self
            state.sectionName = name
            state.newLine = true
            state.isPartialDefinition = true
            state.isPartialDefinitionTopLevel = true
            return state
        }
    }

    init(text: String, path: String) {
        self.text = text
        self.path = path
        self.position = text.startIndex
    }

    mutating func parse() throws(TemplateError) -> [Node] {
        try parse(State())
    }

    private mutating func parse(_ initial: State) throws(TemplateError) -> [Node] {
        var nodes: [Node] = []
        var state = initial
        var whitespaceBefore: Substring = ""
        while !atEnd {
            if state.newLine {
                let whitespace = read(while: { $0 == " " || $0 == "\t" })
                if state.isPartialDefinition, !state.isPartialDefinitionTopLevel {
                    if let indent = state.partialDefinitionIndent {
                        whitespaceBefore = whitespace.dropFirst(indent.count)
                    } else {
                        state.partialDefinitionIndent = whitespace
                    }
                } else {
                    whitespaceBefore = whitespace
                }
            }
            let text = readTextUntilTagOrNewline()
            if current.isNewline {
                nodes.append(.text(String(whitespaceBefore) + text + String(current)))
                state.newLine = true
                advance()
                continue
            }
            if !text.isEmpty {
                nodes.append(.text(String(whitespaceBefore) + text))
                whitespaceBefore = ""
                state.newLine = false
            }
            if atEnd { break }

            let location = self.location
            var standalone = false
            func flushWhitespace() {
                if !whitespaceBefore.isEmpty {
                    nodes.append(.text(String(whitespaceBefore)))
                    whitespaceBefore = ""
                }
            }
            // A partial, a parent or a block keeps its whitespace as text and also as its indentation.
            func flushWhitespaceKeepingIndent() {
                if !whitespaceBefore.isEmpty { nodes.append(.text(String(whitespaceBefore))) }
            }
            switch current {
            case "#", "^":
                let inverted = current == "^"
                advance()
                let name = try readName()
                standalone = isStandalone(state)
                if !standalone { flushWhitespace() }
                let body = try parse(state.inSection(name, standalone: standalone))
                nodes.append(inverted ? .invertedSection(name, body, location) : .section(name, body, location))

            case "/":
                advance()
                let name = try readName()
                guard name == state.sectionName else {
                    throw TemplateError(
                        location: location,
                        message: state.sectionName.map { "{{/\(name)}} closes {{#\($0)}}" } ?? "{{/\(name)}} closes nothing"
                    )
                }
                if !isStandalone(state) { flushWhitespace() }
                return nodes

            case "!":
                advance()
                let comment = try readComment()
                let words = comment.split(separator: ":", maxSplits: 1).map { $0.trimmingSpaces }
                if words.count == 2, words[0] == "model" { model = words[1] }
                standalone = isStandalone(state)

            case "{", "&":
                throw TemplateError(location: location, message: "unescaped values are not supported: every value is escaped")

            case ">":
                advance()
                let name = try readPartialName(location)
                flushWhitespaceKeepingIndent()
                standalone = isStandalone(state)
                nodes.append(.partial(name, indentation: standalone ? String(whitespaceBefore) : nil, overrides: nil, location))
                whitespaceBefore = ""

            case "<":
                advance()
                let name = try readPartialName(location)
                flushWhitespaceKeepingIndent()
                standalone = isStandalone(state)
                var overrides: [String: [Node]] = [:]
                for node in try parse(state.inParent(name)) {
                    switch node {
                    case .blockDefinition(let block, let body, _): overrides[block] = body
                    case .text: break
                    default: throw TemplateError(location: location, message: "only {{$block}} overrides may stand inside {{<\(name)}}")
                    }
                }
                nodes.append(.partial(name, indentation: String(whitespaceBefore), overrides: overrides, location))
                whitespaceBefore = ""

            case "$":
                advance()
                let name = try readName()
                if state.isPartialDefinitionTopLevel {
                    standalone = isStandalone(state)
                    nodes.append(.blockDefinition(name, try parse(state.inSection(name, standalone: standalone)), location))
                } else {
                    flushWhitespaceKeepingIndent()
                    standalone = isStandalone(state)
                    let body = try parse(state.inSection(name, standalone: standalone))
                    nodes.append(.blockExpansion(name, body, indentation: String(whitespaceBefore), location))
                    whitespaceBefore = ""
                }

            case "=":
                throw TemplateError(location: location, message: "set-delimiter tags are not supported")

            case "%":
                advance()
                nodes.append(.contentType(try readContentType(location), location))
                standalone = isStandalone(state)

            default:
                flushWhitespace()
                nodes.append(.variable(try readName(), location))
            }
            state.newLine = standalone
        }
        if let open = state.sectionName {
            throw TemplateError(location: location, message: "{{#\(open)}} is never closed")
        }
        return nodes
    }

    // MARK: Reading

    private var atEnd: Bool { position == text.endIndex }

    /// The character at the position; NUL at the end, as a sentinel that is neither a newline nor a tag.
    private var current: Character { atEnd ? "\0" : text[position] }

    private var location: Location {
        Location(path: path, line: text[..<position].reduce(1) { $1.isNewline ? $0 + 1 : $0 })
    }

    private mutating func advance() {
        position = text.index(after: position)
    }

    @discardableResult
    private mutating func read(while predicate: (Character) -> Bool) -> Substring {
        let start = position
        while !atEnd, predicate(text[position]) { advance() }
        return text[start..<position]
    }

    private mutating func read(literal: String) -> Bool {
        guard text[position...].hasPrefix(literal) else { return false }
        position = text.index(position, offsetBy: literal.count)
        return true
    }

    /// Text up to a newline (not consumed) or past an opening `{{`.
    private mutating func readTextUntilTagOrNewline() -> String {
        var result = ""
        while !atEnd {
            result += read(while: { $0 != "\n" && $0 != "\r\n" && $0 != "{" })
            if atEnd || current.isNewline { break }
            if read(literal: "{{") { break }
            result.append("{")
            advance()
        }
        return result
    }

    private static let nameCharacters = Set("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-_?()*")
    private static let partialNameCharacters = nameCharacters.union(["/"])

    private mutating func readName() throws(TemplateError) -> String {
        let location = self.location
        read(while: \.isWhitespace)
        let name = String(read(while: { Self.nameCharacters.contains($0) }))
        read(while: \.isWhitespace)
        guard read(literal: "}}") else { throw TemplateError(location: location, message: "unfinished tag") }
        guard !name.contains("("), !name.contains("*") else {
            throw TemplateError(location: location, message: "transforms are not supported: {{\(name)}}")
        }
        return name
    }

    private mutating func readPartialName(_ location: Location) throws(TemplateError) -> String {
        read(while: \.isWhitespace)
        let name = String(read(while: { Self.partialNameCharacters.contains($0) }))
        read(while: \.isWhitespace)
        guard read(literal: "}}") else { throw TemplateError(location: location, message: "unfinished tag") }
        guard !name.hasPrefix("*") else { throw TemplateError(location: location, message: "dynamic partials are not supported") }
        return name
    }

    private mutating func readComment() throws(TemplateError) -> Substring {
        let start = position
        guard let end = text[position...].firstRange(of: "}}") else {
            throw TemplateError(location: location, message: "unfinished comment")
        }
        position = end.upperBound
        return text[start..<end.lowerBound]
    }

    private mutating func readContentType(_ location: Location) throws(TemplateError) -> String {
        guard let end = text[position...].firstRange(of: "}}") else { throw TemplateError(location: location, message: "unfinished tag") }
        let words = text[position..<end.lowerBound].split(separator: ":", maxSplits: 1).map { $0.trimmingSpaces }
        position = end.upperBound
        guard words.count == 2, words[0] == "CONTENT_TYPE", !words[1].isEmpty else {
            throw TemplateError(location: location, message: "the only pragma is {{% CONTENT_TYPE: NAME }}")
        }
        return words[1]
    }

    /// A tag alone on its line (the line started with only spaces before it): the rest of the line, up to and
    /// including its newline, goes with the tag.
    private mutating func isStandalone(_ state: State) -> Bool {
        guard state.newLine else { return false }
        if atEnd { return true }
        var probe = position
        while probe != text.endIndex, text[probe] == " " || text[probe] == "\t" { probe = text.index(after: probe) }
        guard probe != text.endIndex, text[probe].isNewline else { return false }
        position = text.index(after: probe)
        return true
    }
}

extension Substring {
    fileprivate var trimmingSpaces: String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
