/// A deterministic meeting point for race tests: tasks `pass()` and are held until the test opens the gate;
/// the test can wait until a given number of tasks have arrived. No sleeps, no timing.
actor Gate {
    private var arrived = 0
    private var isOpen = false
    private var held: [CheckedContinuation<Void, Never>] = []
    private var arrivalWaiters: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []

    /// Arrives, then waits until the gate is open.
    func pass() async {
        arrived += 1
        let ready = arrivalWaiters.filter { $0.count <= arrived }
        arrivalWaiters.removeAll { $0.count <= arrived }
        for waiter in ready { waiter.continuation.resume() }
        if isOpen { return }
        await withCheckedContinuation { held.append($0) }
    }

    /// Returns once `count` tasks have arrived.
    func waitForArrivals(_ count: Int) async {
        if arrived >= count { return }
        await withCheckedContinuation { arrivalWaiters.append((count, $0)) }
    }

    /// Lets every held task and every later arrival through.
    func open() {
        isOpen = true
        let waiting = held
        held.removeAll()
        for continuation in waiting { continuation.resume() }
    }

    var arrivals: Int { arrived }
}
