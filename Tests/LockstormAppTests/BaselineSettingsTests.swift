@testable import Engine
import LockstormCore
import Testing
@testable import LockstormApp

/// The server's major version, the one baseline setting read from a connection.
@Suite struct BaselineSettingsTests {
    @Test("server_version texts give their major version: 16 for 16.4 (Debian …), 9.6 for 9.6.24")
    func majorVersions() {
        #expect(BaselineSettings.majorVersion("16.4 (Debian 16.4-1.pgdg120+2)") == "16")
        #expect(BaselineSettings.majorVersion("15.18") == "15")
        #expect(BaselineSettings.majorVersion("17devel") == "17")
        #expect(BaselineSettings.majorVersion("9.6.24") == "9.6")
        #expect(BaselineSettings.majorVersion("unknown") == nil)
    }

    static func gate(serverVersions: [String], force: Bool) -> PreparedGate {
        let baseline = LoadedBaseline(source: "results", runs: ["results/t-v-1"], samples: [], serverVersions: serverVersions)
        return PreparedGate(checks: [], limits: [], baselines: ["v": baseline], force: force)
    }

    @Test("a baseline from another major version is refused (exit 2) naming both; the same major passes; --force-baseline warns and records it")
    func serverVersionMismatch() throws {
        let output = RecordingOutput()
        do {
            _ = try Self.gate(serverVersions: ["14.11"], force: false).checkServerVersion("15.18 (Debian 15.18-0+deb12u1)", output: output)
            Issue.record("a baseline made on PostgreSQL 14 was accepted for a run on 15")
        } catch let failure as Failure {
            #expect(failure.status == .usage)
            #expect(failure.message.contains("the baseline results/t-v-1 was made with other settings than this run"))
            #expect(failure.message.contains("  server version: baseline PostgreSQL 14, this run 15\n"))
        }
        let same = try Self.gate(serverVersions: ["15.2"], force: false).checkServerVersion("15.18", output: output)
        #expect(same.baselines["v"]?.mismatches == [])
        let forced = try Self.gate(serverVersions: ["14.11"], force: true).checkServerVersion("15.18", output: output)
        #expect(forced.baselines["v"]?.mismatches == ["server version: baseline PostgreSQL 14, this run 15"])
        #expect(output.errors.contains("WARNING: --force-baseline"))
    }
}

/// `-P` lines come only when an interval ended since the last one.
@Suite struct ProgressStateTests {
    static func report(at elapsed: Double, seconds: Double, committed: Int = 0) -> ProgressReport {
        var window = IntervalStats()
        window.committed = committed
        return ProgressReport(elapsedSeconds: elapsed, plannedSeconds: 10, window: window, windowSeconds: seconds, committedSoFar: 0, lockWaits: nil)
    }

    @Test("-P shorter than the interval: a tick with no interval behind it prints no line; the next interval does")
    func noLineWithoutAnInterval() {
        let state = ProgressState()
        #expect(state.accumulate(Self.report(at: 0.5, seconds: 0), every: 0.5).0 == false)
        let (due, window, seconds) = state.accumulate(Self.report(at: 1.0, seconds: 1, committed: 7), every: 0.5)
        #expect(due && window.committed == 7 && seconds == 1)
        #expect(state.accumulate(Self.report(at: 1.5, seconds: 0), every: 0.5).0 == false)
    }
}
