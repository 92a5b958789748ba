import Engine
import Testing
@testable import LockstormApp

@Suite("fuzz's header says the deadlock_timeout the sessions really run with")
struct FuzzHeaderTests {
    @Test("lowered per session, refused (the server's, with its answer), or lockstorm's own server's")
    func timeoutText() {
        let lowered = DeadlockTimeoutProbe(serverText: "1s", serverMilliseconds: 1000, wantedMilliseconds: 20, lowered: true)
        #expect(FuzzPipeline.timeoutText(lowered, embedded: false) == "lowered to 20 ms per session (the server's is 1 s)")
        let refused = DeadlockTimeoutProbe(serverText: "1s", serverMilliseconds: 1000, wantedMilliseconds: 20, lowered: false, refusal: "permission denied to set parameter \"deadlock_timeout\"")
        #expect(FuzzPipeline.timeoutText(refused, embedded: false)
            == "1 s: the role may not change it (permission denied to set parameter \"deadlock_timeout\"): using the server's 1 s")
        let own = DeadlockTimeoutProbe(serverText: "20ms", serverMilliseconds: 20, wantedMilliseconds: 20, lowered: false)
        #expect(FuzzPipeline.timeoutText(own, embedded: true) == "20 ms")
    }
}
