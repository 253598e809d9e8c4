/// One batch of users without a ``LookAlikeKey``, as both engines assign the keys: each user's key, who already
/// holds each, and the decision, in id order: the first user of a key gets it, a later one whose key is held keeps
/// none and is reported.
struct LookAlikeBatch: Sendable {
    /// Users per transaction: bounds the time one write holds the database at start.
    static let size = 500

    struct User: Sendable {
        var id: Int64
        var username: String
    }

    /// In id order.
    let users: [User]
    private let keyOfUser: [IdentityKey]
    /// The holder's username of each key (its text) a user outside the batch holds (the store fills it in).
    var held: [String: String] = [:]
    /// What ``decide()`` reported, carried out of the store's transaction.
    var kept: [LookAlikeName] = []

    init(_ users: [User]) {
        self.users = users
        keyOfUser = users.map { LookAlikeKey.of($0.username) }
    }

    /// The distinct keys of the batch (their texts), for the store to look up their holders.
    var keys: Set<String> { Set(keyOfUser.map(\.rawValue)) }

    /// Who gets their key, and who is reported.
    func decide() -> (assigned: [(id: Int64, key: IdentityKey)], kept: [LookAlikeName]) {
        var holders = held
        var assigned: [(id: Int64, key: IdentityKey)] = []
        var kept: [LookAlikeName] = []
        for (user, key) in zip(users, keyOfUser) {
            if let holder = holders[key.rawValue] {
                kept.append(LookAlikeName(username: user.username, looksLike: holder))
            } else {
                holders[key.rawValue] = user.username
                assigned.append((user.id, key))
            }
        }
        return (assigned, kept)
    }
}
