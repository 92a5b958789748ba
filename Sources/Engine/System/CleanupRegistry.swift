import Foundation
import Synchronization

/// Things that must be undone however the process ends (a throwaway
/// server, its directory). The signal handler runs them on a second Ctrl-C.
public final class CleanupRegistry: Sendable {
    public static let shared = CleanupRegistry()

    private let actions = Mutex<[Int: (description: String, action: @Sendable () -> Void)]>([:])
    private let nextID = Atomic<Int>(0)

    /// Registers `action`, which `description` names for the user ("removing
    /// the embedded server"); returns a token for `remove`.
    public func add(_ description: String, _ action: @escaping @Sendable () -> Void) -> Int {
        let id = nextID.wrappingAdd(1, ordering: .relaxed).newValue
        actions.withLock { $0[id] = (description, action) }
        return id
    }

    /// What the registered actions do, in the order they would run, each named once.
    public var descriptions: [String] {
        let all = actions.withLock { current in current.sorted { $0.key > $1.key }.map(\.value.description) }
        var seen = Set<String>()
        return all.filter { !$0.isEmpty && seen.insert($0).inserted }
    }

    public func remove(_ id: Int) {
        _ = actions.withLock { $0.removeValue(forKey: id) }
    }

    /// Runs and forgets every registered action.
    public func runAll() {
        let pending = actions.withLock { current -> [@Sendable () -> Void] in
            let list = current.sorted { $0.key > $1.key }.map(\.value.action)
            current.removeAll()
            return list
        }
        for action in pending { action() }
    }
}

/// A flag the engine polls to stop starting work (set by Ctrl-C, SIGTERM,
/// or a test), and a second one to stop at once: a second Ctrl-C cancels
/// what is in flight now instead of after the grace period.
public final class StopSignal: Sendable {
    private let flag = Atomic<Bool>(false)
    private let urgentFlag = Atomic<Bool>(false)

    public init() {}

    public var isSet: Bool { flag.load(ordering: .relaxed) }

    /// Whether the stop is urgent: no grace period for what is in flight.
    public var isUrgent: Bool { urgentFlag.load(ordering: .relaxed) }

    public func set() { flag.store(true, ordering: .relaxed) }

    /// Stops, and cancels what is in flight now.
    public func setUrgent() {
        urgentFlag.store(true, ordering: .relaxed)
        flag.store(true, ordering: .relaxed)
    }
}

/// Turns SIGINT, SIGTERM and SIGHUP into a graceful stop. A second signal
/// stops at once: while the command is gathering results (`gathering`), it
/// makes the stop urgent (what is in flight is canceled now) and the command
/// still writes what it gathered, within `hurryLimitSeconds`; otherwise, or
/// after that limit, or on a third signal, it runs the cleanup registry and
/// exits. The exit status is 130 when the first signal was SIGINT, 143
/// otherwise. Keep the trap alive for as long as the handlers should stay installed.
public final class SignalTrap {
    private final class State: Sendable {
        let count = Atomic<Int>(0)
        let signal = Atomic<Int32>(0)
        /// Whether a second signal should hurry the command rather than end it.
        let gathering = Atomic<Bool>(false)
        /// Whether a second signal has hurried it.
        let hurried = Atomic<Bool>(false)
    }

    private static let exiting = Atomic<Bool>(false)

    /// How long a hurried command gets to write what it gathered before the trap ends it.
    public static let hurryLimitSeconds = 10

    /// Called by the main thread before it exits: once a signal has
    /// started the immediate exit, the handler owns the process's end (it
    /// removes the server, then exits), so the caller waits for it instead
    /// of racing it to `exit` with another status.
    public static func yieldToExitInProgress() {
        while exiting.load(ordering: .relaxed) { sleep(1) }
    }

    /// The exit status for a run that `signal` stopped: 130 for SIGINT, 143 for SIGTERM and SIGHUP.
    public static func exitStatus(forSignal signal: Int32) -> Int32 { signal == SIGINT ? 130 : 143 }

    /// What a second signal prints: that lockstorm stops now, and what it
    /// still does (writing the results when `hurrying`, then `cleanup`).
    public static func stoppingNowMessage(hurrying: Bool, cleanup: [String]) -> String {
        var parts: [String] = []
        if hurrying { parts.append("canceling what is in flight and writing the results so far") }
        parts += cleanup
        var text = "lockstorm: stopping now"
        if !parts.isEmpty { text += "; " + parts.joined(separator: ", then ") }
        if hurrying { text += " (once more to quit without writing them)" }
        return text + "\n"
    }

    private var sources: [DispatchSourceSignal] = []
    private let state = State()

    /// Installs the handlers. `onFirst` is called once, on the first signal.
    public init(stop: StopSignal, onFirst: @escaping @Sendable (Int32) -> Void) {
        let state = self.state
        // A closed pipe on stdout/stderr (`lockstorm run … | head`) must not
        // kill lockstorm before it has removed its server.
        signal(SIGPIPE, SIG_IGN)
        for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                let seen = state.count.wrappingAdd(1, ordering: .relaxed).newValue
                if seen == 1 {
                    state.signal.store(signalNumber, ordering: .relaxed)
                    stop.set()
                    onFirst(signalNumber)
                    return
                }
                let status = SignalTrap.exitStatus(forSignal: state.signal.load(ordering: .relaxed))
                if seen == 2 && state.gathering.load(ordering: .relaxed) {
                    state.hurried.store(true, ordering: .relaxed)
                    stop.setUrgent()
                    SignalTrap.say(SignalTrap.stoppingNowMessage(hurrying: true, cleanup: CleanupRegistry.shared.descriptions))
                    DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(SignalTrap.hurryLimitSeconds)) {
                        SignalTrap.say("lockstorm: the results were not written within \(SignalTrap.hurryLimitSeconds) s; quitting\n")
                        SignalTrap.quit(status: status)
                    }
                    return
                }
                SignalTrap.say(SignalTrap.stoppingNowMessage(hurrying: false, cleanup: CleanupRegistry.shared.descriptions))
                SignalTrap.quit(status: status)
            }
            source.resume()
            sources.append(source)
        }
    }

    private static func say(_ text: String) {
        try? FileHandle.standardError.write(contentsOf: Data(text.utf8))
    }

    /// Runs the cleanup registry and exits; the main thread yields to it.
    private static func quit(status: Int32) {
        exiting.store(true, ordering: .relaxed)
        CleanupRegistry.shared.runAll()
        exit(status)
    }

    /// Whether a signal has arrived.
    public var triggered: Bool { state.count.load(ordering: .relaxed) > 0 }

    /// The first signal that arrived (SIGINT, SIGTERM or SIGHUP), if any.
    public var firstSignal: Int32? {
        let number = state.signal.load(ordering: .relaxed)
        return number == 0 ? nil : number
    }

    /// Marks whether the command is gathering results now (a run's load,
    /// checks and result writing): a second signal then hurries it instead of ending it.
    public func setGathering(_ gathering: Bool) {
        state.gathering.store(gathering, ordering: .relaxed)
    }

    deinit {
        for source in sources { source.cancel() }
    }
}
