import Foundation

/// Just enough HTML reading for the contract's form pages, whatever the attribute order (this server writes
/// `name="csrf_token" value="..."`, Flask-WTF writes `id=... name="csrf_token" type="hidden" value="..."`).
package enum HTML {
    /// The `value` of the first `<input>` whose `name` is `name`, unescaped; "" when that input has no value, nil
    /// when there is no such input.
    package static func inputValue(named name: String, in html: String) -> String? {
        var searchRange = html.startIndex..<html.endIndex
        while let nameRange = html.range(of: "name=\"\(name)\"", range: searchRange) {
            searchRange = nameRange.upperBound..<html.endIndex
            guard let tagStart = html.range(of: "<", options: .backwards, range: html.startIndex..<nameRange.lowerBound),
                  html[tagStart.upperBound...].hasPrefix("input"),
                  let tagEnd = html.range(of: ">", range: nameRange.upperBound..<html.endIndex)
            else { continue }
            let tag = html[tagStart.lowerBound..<tagEnd.upperBound]
            guard let valueStart = tag.range(of: " value=\"") else { return "" }
            guard let valueEnd = tag.range(of: "\"", range: valueStart.upperBound..<tag.endIndex) else { return nil }
            return unescape(String(tag[valueStart.upperBound..<valueEnd.lowerBound]))
        }
        return nil
    }

    /// The form's CSRF token: the value of its hidden `csrf_token` input, nil when the page has none.
    package static func csrfToken(in html: String) -> String? {
        inputValue(named: FormFields.csrfTokenName, in: html)
    }

    /// `text` as it appears in a page's text: `&`, `<` and `>` escaped.
    package static func escape(_ text: String) -> String {
        text
            .replacingOccurrences(of: "&", with: "&amp;")
            .replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }

    private static func unescape(_ text: String) -> String {
        guard text.contains("&") else { return text }
        return text
            .replacingOccurrences(of: "&lt;", with: "<")
            .replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"")
            .replacingOccurrences(of: "&#34;", with: "\"")
            .replacingOccurrences(of: "&#39;", with: "'")
            .replacingOccurrences(of: "&#x27;", with: "'")
            .replacingOccurrences(of: "&amp;", with: "&")
    }
}
