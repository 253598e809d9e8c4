/// A `Duration` in the units the engines and Foundation take.
extension Duration {
    /// The duration in seconds, as a `Double` (a `TimeInterval`).
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }

    /// The whole milliseconds of the duration, rounded down.
    var wholeMilliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
