import Foundation
import MustacheReference
import Testing

/// A template that names a field its model lacks, or opens a section over the wrong kind of value, fails the build
/// with the template's file and line: MustacheCompiler's output for the changed templates is type-checked with
/// `swiftc -typecheck` against the built `Microblog` module, with the flags the build compiled that module with.
@Suite("Templates are type-checked against their page models at build time")
struct TemplateTypeCheckTests {
    @Test("The templates as they are type-check without errors (the control for the tests below)")
    func unchangedTemplates() async throws {
        let result = try await TemplateCheck.typecheck { _ in }
        #expect(result.status == 0, "\(result.output)")
    }

    @Test("A missing field is an error at the template's line")
    func missingField() async throws {
        var line = 0
        let result = try await TemplateCheck.typecheck { templates in
            line = try TemplateCheck.replace("{{profile.username}}", with: "{{profile.usernme}}", in: templates + "/user.mustache")
        }
        #expect(result.status != 0)
        #expect(result.output.contains("/user.mustache:\(line):"), "\(result.output)")
        #expect(result.output.contains("has no member 'usernme'"), "\(result.output)")
    }

    @Test("A section over a string (neither a flag, an optional, a list nor a view model) is an error at its line")
    func sectionOverWrongKind() async throws {
        var line = 0
        let result = try await TemplateCheck.typecheck { templates in
            line = try TemplateCheck.replace(
                "<h1>Sign In</h1>", with: "{{#layout.csrfToken}}<h1>Sign In</h1>{{/layout.csrfToken}}", in: templates + "/login.mustache"
            )
        }
        #expect(result.status != 0)
        #expect(result.output.contains("/login.mustache:\(line):"), "\(result.output)")
        #expect(result.output.contains("no exact matches in call to instance method 'section'"), "\(result.output)")
    }

    @Test("An optional printed without a section is an error: a value is a String")
    func optionalValue() async throws {
        var line = 0
        let result = try await TemplateCheck.typecheck { templates in
            line = try TemplateCheck.replace("{{#profile.aboutMe}}<p>{{.}}</p>", with: "{{#profile.aboutMe}}<p>{{profile.aboutMe}}</p>", in: templates + "/user.mustache")
        }
        #expect(result.status != 0)
        #expect(result.output.contains("/user.mustache:\(line):"), "\(result.output)")
    }

    @Test("A template that does not parse fails MustacheCompiler with its file and line")
    func parseError() async throws {
        let (result, line, _) = try await TemplateCheck.compile(replacing: "{{/isOwnProfile}}", with: "")
        #expect(result.status == 1)
        #expect(result.output.contains("/user.mustache:"), "\(result.output)")
        #expect(result.output.contains("closes {{#isOwnProfile}}"), "\(result.output)")
        #expect(line > 0)
    }
}

extension TemplateTypeCheckTests {
    /// What swift-mustache would render raw, and the compiler must refuse at build time (the differential test cannot
    /// see these: the reference would print the value unescaped too).
    static let refusals: [(change: String, message: String)] = [
        ("{{{.}}}", "unescaped values are not supported"),
        ("{{& .}}", "unescaped values are not supported"),
        ("{{=<% %>=}}<%.%>", "set-delimiter tags are not supported"),
        ("{{>*dynamic}}", "dynamic partials are not supported"),
        ("{{uppercase(.)}}", "transforms are not supported"),
    ]

    @Test("Unescaped values, set-delimiters, dynamic partials and transforms fail MustacheCompiler at the template's line", arguments: refusals)
    func refusedTags(change: String, message: String) async throws {
        let (result, line, wroteSwift) = try await TemplateCheck.compile(
            replacing: "<p>{{.}}</p>{{/profile.aboutMe}}", with: "<p>\(change)</p>{{/profile.aboutMe}}"
        )
        #expect(result.status == 1, "\(change) was compiled")
        #expect(result.output.contains("/user.mustache:\(line):"), "\(result.output)")
        #expect(result.output.contains(message), "\(result.output)")
        #expect(!wroteSwift, "no Swift was written for \(change)")
    }
}

/// Compiles a changed copy of the templates and type-checks the result against the built module.
enum TemplateCheck {
    /// The folder the test bundle, MustacheCompiler and the build's `description.json` are in.
    static var buildFolder: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    }

    /// Runs MustacheCompiler on a copy of the templates with `text` in `user.mustache` replaced: its status and
    /// output, the line the change is on, and whether it wrote the Swift file.
    static func compile(replacing text: String, with replacement: String) async throws -> (result: (status: Int32, output: String), line: Int, wroteSwift: Bool) {
        let directory = try TemporaryDirectory("template-check")
        defer { directory.remove() }
        let templates = try copyTemplates(to: directory)
        let line = try replace(text, with: replacement, in: templates + "/user.mustache")
        let result = try await execute(
            buildFolder.appendingPathComponent("MustacheCompiler").path,
            ["--templates", templates, "--output", directory.file("Views.swift")]
        )
        return (result, line, FileManager.default.fileExists(atPath: directory.file("Views.swift")))
    }

    static func copyTemplates(to directory: TemporaryDirectory) throws -> String {
        let templates = directory.file("Templates")
        try FileManager.default.copyItem(atPath: MustacheReference.templateDirectory.path, toPath: templates)
        return templates
    }

    /// Replaces the first `text` in the file; returns the 1-based line it was on.
    static func replace(_ text: String, with replacement: String, in path: String) throws -> Int {
        let contents = try String(contentsOfFile: path, encoding: .utf8)
        let range = try #require(contents.range(of: text), "\(text) is not in \(path)")
        try contents.replacingCharacters(in: range, with: replacement).write(toFile: path, atomically: true, encoding: .utf8)
        return contents[..<range.lowerBound].filter { $0 == "\n" }.count + 1
    }

    /// Copies the templates, lets `change` edit them, compiles them, and type-checks the generated Swift.
    static func typecheck(_ change: (String) throws -> Void) async throws -> (status: Int32, output: String) {
        let directory = try TemporaryDirectory("template-check")
        defer { directory.remove() }
        let templates = try copyTemplates(to: directory)
        try change(templates)
        let generated = directory.file("Views.swift")
        let compiled = try await execute(
            buildFolder.appendingPathComponent("MustacheCompiler").path,
            ["--templates", templates, "--output", generated, "--without-conformances"]
        )
        #expect(compiled.status == 0, "\(compiled.output)")
        let source = directory.file("Check.swift")
        try ("@testable import Microblog\n" + String(contentsOfFile: generated, encoding: .utf8))
            .write(toFile: source, atomically: true, encoding: .utf8)
        let module = try moduleFlags()
        return try await execute(module.compiler, ["-typecheck"] + module.flags + [source])
    }

    /// The compiler and the flags that find `Microblog` and the modules it imports, from the build's description.
    static func moduleFlags() throws -> (compiler: String, flags: [String]) {
        let data = try Data(contentsOf: buildFolder.appendingPathComponent("description.json"))
        let description = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let commands = try #require(description["swiftCommands"] as? [String: [String: Any]])
        let command = try #require(commands.first { $0.key.hasPrefix("C.Microblog-") && $0.key.hasSuffix(".module") }?.value)
        let arguments = try #require(command["otherArguments"] as? [String])
        let importPath = try #require(command["importPath"] as? String)
        let compiler = try #require(command["executable"] as? String)
        var flags = ["-I", importPath]
        var index = 0
        let withValue: Set<String> = ["-target", "-Xcc", "-module-cache-path", "-swift-version", "-package-name", "-enable-upcoming-feature", "-sdk"]
        while index < arguments.count {
            let argument = arguments[index]
            if withValue.contains(argument), index + 1 < arguments.count {
                flags += [argument, arguments[index + 1]]
                index += 2
                continue
            }
            if argument.hasPrefix("-D") || argument.hasPrefix("-sanitize=") { flags.append(argument) }
            index += 1
        }
        return (compiler, flags)
    }

    static func execute(_ executable: String, _ arguments: [String]) async throws -> (status: Int32, output: String) {
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        // Read while it runs: the compiler's diagnostics can be larger than a pipe holds.
        let reader = Task.detached { output.fileHandleForReading.readDataToEndOfFile() }
        let status = try await run(process)
        try? output.fileHandleForWriting.close()
        return (status, String(decoding: await reader.value, as: UTF8.self))
    }
}
