/// A page model with a template compiled at build time: `render(into:)` is generated from the template that names
/// the type in a `{{! model: Type }}` comment.
protocol CompiledView: ViewModel {
    func render(into html: inout HTMLWriter)
}

/// A value a template section may open, rendered once with its stored properties as the section's names.
protocol ViewModel: Sendable {}

/// The names inside `{{#flag}}...{{/flag}}` over a `Bool`: those of the enclosing element, which a `Bool` section
/// does not replace. `{{.}}` has no value there (this type is not a string).
@dynamicMemberLookup
struct FlagScope<Outer> {
    let outer: Outer

    subscript<Value>(dynamicMember path: KeyPath<Outer, Value>) -> Value {
        outer[keyPath: path]
    }
}

// The kinds a section may open, one overload each; any other kind has no overload and fails to type-check at the
// template's line. Each call of `body` is one render of the section, as swift-mustache renders it.
extension HTMLWriter {
    @inline(__always)
    mutating func section<Outer>(_ flag: Bool, in outer: Outer, _ body: (inout HTMLWriter, FlagScope<Outer>) -> Void) {
        if flag { body(&self, FlagScope(outer: outer)) }
    }

    @inline(__always)
    mutating func section<Outer, Text: OptionalValue>(_ text: Text, in outer: Outer, _ body: (inout HTMLWriter, String) -> Void)
    where Text.Wrapped == String {
        if let text = text.wrapped { body(&self, text) }
    }

    @inline(__always)
    mutating func section<Outer, Model: OptionalValue>(_ model: Model, in outer: Outer, _ body: (inout HTMLWriter, Model.Wrapped) -> Void)
    where Model.Wrapped: ViewModel {
        if let model = model.wrapped { body(&self, model) }
    }

    @inline(__always)
    mutating func section<Outer, Model: ViewModel>(_ model: Model, in outer: Outer, _ body: (inout HTMLWriter, Model) -> Void) {
        body(&self, model)
    }

    @inline(__always)
    mutating func section<Outer>(_ texts: [String], in outer: Outer, _ body: (inout HTMLWriter, String) -> Void) {
        for text in texts { body(&self, text) }
    }

    @inline(__always)
    mutating func section<Outer, Model: ViewModel>(_ models: [Model], in outer: Outer, _ body: (inout HTMLWriter, Model) -> Void) {
        for model in models { body(&self, model) }
    }

    @inline(__always)
    mutating func invertedSection(_ flag: Bool, _ body: (inout HTMLWriter) -> Void) {
        if !flag { body(&self) }
    }

    @inline(__always)
    mutating func invertedSection<Value: OptionalValue>(_ value: Value, _ body: (inout HTMLWriter) -> Void)
    where Value.Wrapped == String {
        if value.wrapped == nil { body(&self) }
    }

    @inline(__always)
    mutating func invertedSection<Value: OptionalValue>(_ value: Value, _ body: (inout HTMLWriter) -> Void)
    where Value.Wrapped: ViewModel {
        if value.wrapped == nil { body(&self) }
    }

    @inline(__always)
    mutating func invertedSection<Element>(_ elements: [Element], _ body: (inout HTMLWriter) -> Void) {
        if elements.isEmpty { body(&self) }
    }
}

/// An `Optional`, matched as a generic parameter so that a plain value is not promoted to one: a section over a
/// `String` (always there, never a condition) finds no overload.
protocol OptionalValue {
    associatedtype Wrapped
    var wrapped: Wrapped? { get }
}

extension Optional: OptionalValue {
    var wrapped: Wrapped? { self }
}
