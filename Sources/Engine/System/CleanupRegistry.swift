import Foundation
import Synchronization

/// Things that must be undone however the process ends (a throwaway
/// server, its directory). The signal handler runs them on a second Ctrl-C.
public final class CleanupRegistry: Sendable {
    public static let shared = CleanupRegistry()

    private let actions = Mutex<[Int: @Sendable () -> Void]>([:])
    private let nextID = Atomic<Int>(0)

    /// Registers `action`; returns a token for `remove`.
    public func add(_ action: @escaping @Sendable () -> Void) -> Int {
        let id = nextID.wrappingAdd(1, ordering: .relaxed).newValue
        actions.withLock { $0[id] = action }
        return id
    }

    public func remove(_ id: Int) {
        _ = actions.withLock { $0.removeValue(forKey: id) }
    }

    /// Runs and forgets every registered action.
    public func runAll() {
        let pending = actions.withLock { current -> [@Sendable () -> Void] in
            let list = current.sorted { $0.key > $1.key }.map(\.value)
            current.removeAll()
            return list
        }
        for action in pending { action() }
    }
}

/// A flag the engine polls to stop starting work (set by Ctrl-C, SIGTERM,
/// or a test).
public final class StopSignal: Sendable {
    private let flag = Atomic<Bool>(false)

    public init() {}

    public var isSet: Bool { flag.load(ordering: .relaxed) }

    public func set() { flag.store(true, ordering: .relaxed) }
}

/// Turns SIGINT, SIGTERM and SIGHUP into a graceful stop; a second signal runs the
/// cleanup registry and exits at once. Keep the trap alive for as long as
/// the handlers should stay installed.
public final class SignalTrap {
    private final class Counter: Sendable {
        let value = Atomic<Int>(0)
        let signal = Atomic<Int32>(0)
    }

    private static let exiting = Atomic<Bool>(false)

    /// Called by the main thread before it exits: once a second signal has
    /// started the immediate exit, the handler owns the process's end (it
    /// removes the server, then exits), so the caller waits for it instead
    /// of racing it to `exit` with another status.
    public static func yieldToExitInProgress() {
        while exiting.load(ordering: .relaxed) { sleep(1) }
    }

    private var sources: [DispatchSourceSignal] = []
    private let counter = Counter()

    /// Installs the handlers. `onFirst` is called once, on the first signal.
    public init(stop: StopSignal, onFirst: @escaping @Sendable (Int32) -> Void) {
        let counter = self.counter
        // A closed pipe on stdout/stderr (`lockstorm run … | head`) must not
        // kill lockstorm before it has removed its server.
        signal(SIGPIPE, SIG_IGN)
        for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                let seen = counter.value.wrappingAdd(1, ordering: .relaxed).newValue
                if seen == 1 {
                    counter.signal.store(signalNumber, ordering: .relaxed)
                    stop.set()
                    onFirst(signalNumber)
                } else {
                    SignalTrap.exiting.store(true, ordering: .relaxed)
                    try? FileHandle.standardError.write(contentsOf: Data("lockstorm: stopping now; removing the embedded server\n".utf8))
                    CleanupRegistry.shared.runAll()
                    exit(128 + signalNumber)
                }
            }
            source.resume()
            sources.append(source)
        }
    }

    /// Whether a signal has arrived.
    public var triggered: Bool { counter.value.load(ordering: .relaxed) > 0 }

    /// The first signal that arrived (SIGINT, SIGTERM or SIGHUP), if any.
    public var firstSignal: Int32? {
        let number = counter.signal.load(ordering: .relaxed)
        return number == 0 ? nil : number
    }

    deinit {
        for source in sources { source.cancel() }
    }
}
