import Foundation

/// A real, small file system for fault tests: a tmpfs of a few kilobytes mounted on a folder for the duration of
/// a test, which ``fill()`` makes full. Mounting needs root: gate the tests with `.enabled(if: getuid() == 0, …)`.
struct SmallDisk {
    let path: String

    /// Mounts a disk of `kilobytes` on `directory/name`, runs `body`, and unmounts it (lazily, so open files never
    /// block the unmount).
    static func with<Value>(
        kilobytes: Int,
        in directory: URL,
        name: String = "disk",
        _ body: (SmallDisk) async throws -> Value
    ) async throws -> Value {
        let disk = SmallDisk(path: directory.appendingPathComponent(name).path)
        try FileManager.default.createDirectory(atPath: disk.path, withIntermediateDirectories: true)
        try await runProcess("/bin/mount", ["-t", "tmpfs", "-o", "size=\(kilobytes)k", "tmpfs", disk.path])
        do {
            let value = try await body(disk)
            try await runProcess("/bin/umount", ["-l", disk.path])
            return value
        } catch {
            try? await runProcess("/bin/umount", ["-l", disk.path])
            throw error
        }
    }

    /// Writes a filler file until the disk refuses more; returns its path (remove it to free the space).
    func fill() throws -> String {
        let filler = path + "/filler"
        _ = FileManager.default.createFile(atPath: filler, contents: nil)
        guard let handle = FileHandle(forWritingAtPath: filler) else {
            throw ProcessFailure(description: "cannot open \(filler)")
        }
        defer { try? handle.close() }
        let chunk = Data(count: 4096)
        while (try? handle.write(contentsOf: chunk)) != nil {}
        return filler
    }
}
