import Synchronization

/// A run that must end before its time because its workload is broken (see
/// `RunStats.brokenWorkloadReason`): the first worker to see it gives the
/// reason, and every worker then stops as on Ctrl-C.
final class RunAbort: Sendable {
    private let flag = Atomic<Bool>(false)
    private let reasonText = Mutex<String?>(nil)

    /// Read by every worker on each wake-up: one relaxed load.
    var isSet: Bool { flag.load(ordering: .relaxed) }

    var reason: String? { reasonText.withLock { $0 } }

    /// Stops the run; the first reason given is kept.
    func abort(_ reason: String) {
        reasonText.withLock { if $0 == nil { $0 = reason } }
        flag.store(true, ordering: .relaxed)
    }
}
