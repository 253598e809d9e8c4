import Testing

/// A deterministic meeting point for race tests: tasks `pass()` and are held until the test opens the gate;
/// the test can wait until a given number of tasks have arrived. No sleeps, no timing in the schedule itself.
///
/// Both waits are bounded by ``limit`` so that a schedule that does not go as the test expects fails the test
/// instead of hanging it: a task held at a gate nobody opens is let through with a recorded issue, and
/// ``waitForArrivals(_:)`` throws ``GateTimeout`` when the arrivals do not come. The limit is a failure bound, far
/// above any schedule's real time; it decides nothing in a passing run.
actor Gate {
    /// How long a wait may last before the test fails.
    let limit: Duration
    private var arrived = 0
    private var isOpen = false
    private var nextID = 0
    private var held: [Int: (continuation: CheckedContinuation<Void, Never>, timer: Task<Void, Never>)] = [:]
    private var arrivalWaiters: [Int: (count: Int, continuation: CheckedContinuation<Bool, Never>, timer: Task<Void, Never>)] = [:]

    init(limit: Duration = .seconds(120)) {
        self.limit = limit
    }

    /// Arrives, then waits until the gate is open (or, failing the test, until ``limit`` has passed).
    func pass() async {
        arrived += 1
        for (id, waiter) in arrivalWaiters where waiter.count <= arrived {
            arrivalWaiters[id] = nil
            waiter.timer.cancel()
            waiter.continuation.resume(returning: true)
        }
        if isOpen { return }
        let id = makeID()
        await withCheckedContinuation { continuation in
            held[id] = (continuation, timer(for: id))
        }
    }

    /// Returns once `count` tasks have arrived.
    /// - Throws: ``GateTimeout`` when they have not within ``limit``.
    func waitForArrivals(_ count: Int) async throws {
        if arrived >= count { return }
        let id = makeID()
        let arrivedInTime = await withCheckedContinuation { continuation in
            arrivalWaiters[id] = (count, continuation, timer(for: id))
        }
        if !arrivedInTime { throw GateTimeout(expected: count, arrived: arrived, limit: limit) }
    }

    /// Lets every held task and every later arrival through.
    func open() {
        isOpen = true
        let waiting = held.values
        held.removeAll()
        for (continuation, timer) in waiting {
            timer.cancel()
            continuation.resume()
        }
    }

    var arrivals: Int { arrived }

    private func makeID() -> Int {
        nextID += 1
        return nextID
    }

    private func timer(for id: Int) -> Task<Void, Never> {
        let limit = limit
        return Task { [weak self] in
            guard (try? await Task.sleep(for: limit)) != nil else { return }
            await self?.expire(id)
        }
    }

    private func expire(_ id: Int) {
        if let waiter = held.removeValue(forKey: id) {
            Issue.record("a task was held at a closed gate for \(limit): the schedule did not go as the test expects")
            waiter.continuation.resume()
        }
        if let waiter = arrivalWaiters.removeValue(forKey: id) {
            waiter.continuation.resume(returning: false)
        }
    }
}

/// The arrivals a test waited for at a ``Gate`` did not come in time.
struct GateTimeout: Error, CustomStringConvertible {
    var expected: Int
    var arrived: Int
    var limit: Duration

    var description: String {
        "\(arrived) of \(expected) tasks arrived at the gate within \(limit): the schedule did not go as the test expects"
    }
}
