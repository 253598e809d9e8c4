import Foundation
import PackagePlugin

/// Compiles the target's `Views/Templates/*.mustache` into Swift before the target builds (MustacheCompiler).
@main
struct CompileViews: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let templates = target.directoryURL.appending(path: "Views/Templates")
        let files = (FileManager.default.enumerator(at: templates, includingPropertiesForKeys: nil)?.allObjects ?? [])
            .compactMap { $0 as? URL }
            .filter { $0.pathExtension == "mustache" }
        let output = context.pluginWorkDirectoryURL.appending(path: "CompiledViews.swift")
        return [
            .buildCommand(
                displayName: "Compiling \(files.count) Mustache templates of \(target.name)",
                executable: try context.tool(named: "MustacheCompiler").url,
                arguments: ["--templates", templates.path, "--output", output.path],
                inputFiles: files,
                outputFiles: [output]
            )
        ]
    }
}
