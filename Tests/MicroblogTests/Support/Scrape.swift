import Prometheus

/// One reading of a Prometheus registry: each sample's value by its name and labels as exposed, for example
/// `microblog_error_pages_total{status="500"}`.
struct Scrape: Sendable {
    let samples: [String: Double]

    init(_ registry: PrometheusCollectorRegistry) {
        self.init(text: registry.emitToString())
    }

    /// Parses the text exposition format (comment lines skipped).
    init(text: String) {
        var samples: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            samples[String(line[..<space])] = value
        }
        self.samples = samples
    }

    /// The sample's value; 0 when it is not exposed (yet).
    subscript(_ name: String) -> Double { samples[name] ?? 0 }
}
