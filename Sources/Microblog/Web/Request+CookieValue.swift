import Hummingbird

extension Request {
    /// The value of the first cookie named `name`, as `cookies[name]?.value` finds it (the `Cookie` headers split at
    /// `;`, leading white space dropped, the name up to the first `=`), without building every cookie of the request.
    func cookieValue(named name: String) -> Substring? {
        for header in headers[values: .cookie] {
            for segment in header.split(separator: ";", omittingEmptySubsequences: false) {
                let pair = segment.drop(while: \.isWhitespace)
                guard let equals = pair.firstIndex(of: "=") else { continue }
                if pair[..<equals] == name { return pair[pair.index(after: equals)...] }
            }
        }
        return nil
    }
}
