import Hummingbird
import NIOCore

extension Response {
    /// A page rendered by its compiled template, `text/html; charset=utf-8`.
    static func page(_ view: some CompiledView, status: HTTPResponse.Status = .ok) -> Response {
        var html = HTMLWriter()
        view.render(into: &html)
        return Response(status: status, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: html.buffer))
    }

    /// A 302 to a path on this site.
    static func redirect(to path: String) -> Response {
        Response(status: .found, headers: [.location: path])
    }
}
