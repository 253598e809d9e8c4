import NIOCore
@testable import Microblog

extension CompiledView {
    /// The compiled page as text.
    var html: String {
        var writer = HTMLWriter()
        render(into: &writer)
        return String(buffer: writer.buffer)
    }
}
