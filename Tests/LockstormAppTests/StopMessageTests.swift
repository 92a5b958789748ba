@testable import Engine
import Foundation
import Testing
@testable import LockstormApp

/// What a second Ctrl-C says it does: only what is really there to clean up
/// (issue 18: with --dsn there is no embedded server to remove).
@Suite("what stopping now says")
struct StopMessageTests {
    @Test("with nothing to clean up, no embedded server is mentioned")
    func nothingToCleanUp() {
        #expect(SignalTrap.stoppingNowMessage(hurrying: false, cleanup: []) == "lockstorm: stopping now\n")
        let hurrying = SignalTrap.stoppingNowMessage(hurrying: true, cleanup: [])
        #expect(hurrying == "lockstorm: stopping now; canceling what is in flight and writing the results so far (once more to quit without writing them)\n")
        #expect(!hurrying.contains("embedded"))
    }

    @Test("an embedded server is named when there is one")
    func embeddedServer() {
        let text = SignalTrap.stoppingNowMessage(hurrying: true, cleanup: [EmbeddedServer.cleanupDescription])
        #expect(text == "lockstorm: stopping now; canceling what is in flight and writing the results so far, then removing the embedded server (once more to quit without writing them)\n")
        #expect(SignalTrap.stoppingNowMessage(hurrying: false, cleanup: [EmbeddedServer.cleanupDescription]) == "lockstorm: stopping now; removing the embedded server\n")
    }

    @Test("the registry names what it would do, each thing once, and forgets what is removed")
    func registryDescriptions() {
        let registry = CleanupRegistry()
        #expect(registry.descriptions.isEmpty)
        let first = registry.add("removing the embedded server") {}
        let second = registry.add("removing the embedded server") {}
        let third = registry.add("closing the log") {}
        #expect(registry.descriptions == ["closing the log", "removing the embedded server"])
        registry.remove(first)
        registry.remove(second)
        #expect(registry.descriptions == ["closing the log"])
        registry.remove(third)
        #expect(registry.descriptions.isEmpty)
    }

    @Test("a signal decides the exit status of a failure, a usage error excepted")
    func signalDecidesTheStatus() {
        #expect(SignalTrap.exitStatus(forSignal: SIGINT) == 130)
        #expect(SignalTrap.exitStatus(forSignal: SIGTERM) == 143)
        #expect(SignalTrap.exitStatus(forSignal: SIGHUP) == 143)
        let session = Session(output: StandardOutput()) { _ in "" }
        defer { session.close() }
        #expect(session.failure(.runError, "lost").status == .runError)
    }

    @Test("an urgent stop is a stop")
    func urgentStop() {
        let stop = StopSignal()
        #expect(!stop.isSet && !stop.isUrgent)
        stop.set()
        #expect(stop.isSet && !stop.isUrgent)
        let urgent = StopSignal()
        urgent.setUrgent()
        #expect(urgent.isSet && urgent.isUrgent)
    }
}
