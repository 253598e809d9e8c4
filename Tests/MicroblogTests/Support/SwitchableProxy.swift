import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A TCP proxy on 127.0.0.1 in front of another address, that a test switches off and on: off, it closes every
/// connection it carries and every new one at once, as an unreachable database server would look to a client.
/// Stalled, it keeps every connection open and drops every byte, as a server host that vanished from the network.
final class SwitchableProxy: Sendable {
    let port: Int
    private let target: SocketAddress
    private let state = NIOLockedValueBox(State())

    private struct State {
        var on = true
        var stalled = false
        var channels: [ObjectIdentifier: any Channel] = [:]
    }

    private init(port: Int, target: SocketAddress) {
        self.port = port
        self.target = target
    }

    /// Runs a proxy to `host:port` for the duration of `body`.
    static func with<Value: Sendable>(
        toHost host: String,
        port targetPort: Int,
        _ body: @escaping @Sendable (SwitchableProxy) async throws -> Value
    ) async throws -> Value {
        let group = MultiThreadedEventLoopGroup.singleton
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let proxy = SwitchableProxy(
            port: server.channel.localAddress?.port ?? 0,
            target: try SocketAddress.makeAddressResolvingHost(host, port: targetPort)
        )
        return try await withThrowingTaskGroup(of: Value?.self) { tasks in
            tasks.addTask {
                try await server.executeThenClose { inbound in
                    try await withThrowingDiscardingTaskGroup { connections in
                        for try await connection in inbound {
                            connections.addTask { await proxy.carry(connection) }
                        }
                    }
                }
                return nil
            }
            defer { tasks.cancelAll() }
            let value = try await body(proxy)
            server.channel.close(promise: nil)
            proxy.switchOff()
            return value
        }
    }

    /// Closes every connection and refuses new ones.
    func switchOff() {
        let channels = state.withLockedValue { state in
            state.on = false
            defer { state.channels = [:] }
            return Array(state.channels.values)
        }
        for channel in channels { channel.close(promise: nil) }
    }

    /// Keeps connections (old and new) open but forwards nothing: requests are never answered.
    func stall() {
        state.withLockedValue { $0.stalled = true }
    }

    /// Carries new connections again. After a stall the connections it kept are closed (their bytes were lost).
    func switchOn() {
        let stalledChannels = state.withLockedValue { state in
            defer { state.on = true; state.stalled = false }
            return state.stalled ? Array(state.channels.values) : []
        }
        for channel in stalledChannels { channel.close(promise: nil) }
    }

    private var isStalled: Bool { state.withLockedValue { $0.stalled } }

    private func carry(_ client: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        guard state.withLockedValue({ $0.on }),
              let upstream = try? await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(to: target, channelInitializer: { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                })
        else {
            try? await client.channel.close()
            return
        }
        let registered = state.withLockedValue { state in
            guard state.on else { return false }
            state.channels[ObjectIdentifier(client.channel)] = client.channel
            state.channels[ObjectIdentifier(upstream.channel)] = upstream.channel
            return true
        }
        guard registered else {
            try? await client.channel.close()
            try? await upstream.channel.close()
            return
        }
        try? await client.executeThenClose { clientIn, clientOut in
            try await upstream.executeThenClose { upstreamIn, upstreamOut in
                try await withThrowingTaskGroup(of: Void.self) { pipes in
                    pipes.addTask { for try await bytes in clientIn where !self.isStalled { try await upstreamOut.write(bytes) } }
                    pipes.addTask { for try await bytes in upstreamIn where !self.isStalled { try await clientOut.write(bytes) } }
                    // Either side ending ends the connection.
                    try await pipes.next()
                    pipes.cancelAll()
                }
            }
        }
        state.withLockedValue { state in
            state.channels[ObjectIdentifier(client.channel)] = nil
            state.channels[ObjectIdentifier(upstream.channel)] = nil
        }
    }
}
