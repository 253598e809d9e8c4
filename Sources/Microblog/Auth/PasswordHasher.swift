import CoreMetrics
import Crypto
import Foundation
import HummingbirdBcrypt
import NIOPosix

/// bcrypt password hashes, computed on NIO's thread pool: never on an event loop, never inside an actor, and never
/// more at once than ``PasswordWork``'s budgets allow (past them: ``PasswordWorkShed``, a 503).
///
/// The password is first reduced with SHA-256 (base64), so bcrypt's 72-byte truncation cannot make two long
/// passwords equal and a NUL cannot end the input early.
package struct PasswordHasher: Sendable {
    package let cost: UInt8
    /// A hash of a random value, verified against for unknown users so a login takes as long either way.
    private let dummyHash: String
    let work: PasswordWork
    private let metrics: AppMetrics

    package init(cost: UInt8) {
        self.init(cost: cost, metrics: .none, work: PasswordWork(budget: .default(threads: NIOThreadPool.singleton.numberOfThreads)))
    }

    init(cost: UInt8, metrics: AppMetrics, work: PasswordWork) {
        self.cost = cost
        self.dummyHash = Bcrypt.hash(RandomToken.make(), cost: cost)
        self.work = work
        self.metrics = metrics
    }

    /// The hash of a new password (a registration).
    /// - Throws: ``PasswordWorkShed`` when the registrations' budget is full.
    package func hash(_ password: String) async throws -> String {
        let cost = self.cost
        return try await run(.registration) { Bcrypt.hash(Self.prehash(password), cost: cost) }
    }

    /// Whether `password` matches `hash`; with `hash` nil (unknown user) it spends the same time and says no.
    /// - Throws: ``PasswordWorkShed`` when the logins' budget is full.
    package func verify(_ password: String, hash: String?) async throws -> Bool {
        let dummy = dummyHash
        return try await run(.login) {
            let matches = Bcrypt.verify(Self.prehash(password), hash: hash ?? dummy)
            return hash != nil && matches
        }
    }

    private func run<T: Sendable>(_ kind: PasswordWork.Kind, _ body: @escaping @Sendable () -> T) async throws -> T {
        guard work.reserve(kind) else {
            metrics.passwordWorkShed[kind]?.increment()
            throw PasswordWorkShed()
        }
        defer { work.release(kind) }
        return try await NIOThreadPool.singleton.runIfActive(body)
    }

    private static func prehash(_ password: String) -> String {
        Data(SHA256.hash(data: Data(password.utf8))).base64EncodedString()
    }
}
