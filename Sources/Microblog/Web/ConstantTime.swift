/// Comparison of secrets (tokens, MACs) in time that does not depend on where they first differ.
enum ConstantTime {
    /// Whether `lhs` and `rhs` hold the same bytes; every byte is compared whatever the earlier ones were (only a
    /// difference in length answers early, and lengths here are public: every token of a kind has the same one).
    static func equal(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for index in lhs.indices { difference |= lhs[index] ^ rhs[index] }
        return difference == 0
    }
}
