import ArgumentParser
import LockstormApp

/// The CI gate's flags: checks, a baseline with regression limits, and the
/// JUnit and Markdown outputs.
struct GateOptions: ParsableArguments {
    @Option(name: .customLong("check"), help: ArgumentHelp("A condition the run must meet, e.g. 'deadlocks == 0' or 'transfer.p99_ms < 50' (repeatable; adds to the workload's checks). Metrics: see docs/ci.md.", valueName: "expr"))
    var checks: [String] = []

    @Option(name: .long, help: ArgumentHelp("Compare with an earlier run: its result directory, or a folder of them (the newest of the same workload and variant is used).", valueName: "dir"))
    var baseline: String?

    @Option(name: .customLong("max-regression"), help: ArgumentHelp("With --baseline: fail when a metric gets worse than this, e.g. tps=10%,p99_ms=20%,deadlocks_per_1k=0 (N% relative, N in the metric's unit).", valueName: "limits"))
    var maxRegression: String?

    @Option(name: .long, help: ArgumentHelp("Write JUnit XML here: one test case per check, regression gate and invariant.", valueName: "file"))
    var junit: String?

    @Option(name: .long, help: ArgumentHelp("Write a Markdown summary here (e.g. \"$GITHUB_STEP_SUMMARY\"; appended to when the file exists).", valueName: "file"))
    var markdown: String?

    func validate() throws {
        if maxRegression != nil && baseline == nil { throw ValidationError("--max-regression needs --baseline: the limits are relative to an earlier run") }
    }

    var settings: GateSettings {
        var settings = GateSettings()
        settings.checks = checks
        settings.baseline = baseline
        settings.maxRegression = maxRegression
        settings.junit = junit
        settings.markdown = markdown
        return settings
    }
}
