import Crypto
import Foundation
import HummingbirdBcrypt
import NIOPosix

/// bcrypt password hashes, computed on NIO's thread pool: never on an event loop, never inside an actor.
///
/// The password is first reduced with SHA-256 (base64), so bcrypt's 72-byte truncation cannot make two long
/// passwords equal and a NUL cannot end the input early.
public struct PasswordHasher: Sendable {
    public let cost: UInt8
    /// A hash of a random value, verified against for unknown users so a login takes as long either way.
    private let dummyHash: String

    public init(cost: UInt8) {
        self.cost = cost
        self.dummyHash = Bcrypt.hash(RandomToken.make(), cost: cost)
    }

    public func hash(_ password: String) async throws -> String {
        let cost = self.cost
        return try await NIOThreadPool.singleton.runIfActive {
            Bcrypt.hash(Self.prehash(password), cost: cost)
        }
    }

    /// Whether `password` matches `hash`; with `hash` nil (unknown user) it spends the same time and says no.
    public func verify(_ password: String, hash: String?) async throws -> Bool {
        let dummy = dummyHash
        return try await NIOThreadPool.singleton.runIfActive {
            let matches = Bcrypt.verify(Self.prehash(password), hash: hash ?? dummy)
            return hash != nil && matches
        }
    }

    private static func prehash(_ password: String) -> String {
        Data(SHA256.hash(data: Data(password.utf8))).base64EncodedString()
    }
}
