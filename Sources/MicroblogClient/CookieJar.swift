import NIOConcurrencyHelpers

/// One visitor's cookies on one site, safe to share between tasks: what the server's `Set-Cookie` headers leave,
/// sent back as one `Cookie` header. Cookies are kept by name only, as the client talks to one site.
package final class CookieJar: Sendable {
    private let cookies = NIOLockedValueBox<[String: String]>([:])
    private let observer: (@Sendable (_ name: String, _ value: String) -> Void)?

    /// - Parameter observer: called with the name and value of every cookie a `Set-Cookie` header carries, a
    ///   deleting one included, from the task that stores it (the tests note each value as a secret).
    package init(observer: (@Sendable (_ name: String, _ value: String) -> Void)? = nil) {
        self.observer = observer
    }

    /// The `Cookie` header to send: `name=value` pairs sorted by name, or nil with no cookies.
    package var header: String? {
        cookies.withLockedValue { jar in
            jar.isEmpty ? nil : jar.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")
        }
    }

    /// The value held for `name`; setting nil removes the cookie.
    package subscript(name: String) -> String? {
        get { cookies.withLockedValue { $0[name] } }
        set { cookies.withLockedValue { $0[name] = newValue } }
    }

    /// Applies `Set-Cookie` headers in order: a value replaces the one held, a deleting header removes it, a header
    /// without `name=` is skipped.
    package func store(setCookies headers: some Sequence<String>) {
        for header in headers {
            guard let cookie = SetCookie(header) else { continue }
            observer?(cookie.name, cookie.value)
            self[cookie.name] = cookie.deletes ? nil : cookie.value
        }
    }
}
