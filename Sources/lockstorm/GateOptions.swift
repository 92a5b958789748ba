import ArgumentParser
import LockstormApp

/// The CI gate's flags: checks, a baseline with regression limits, and the
/// JUnit and Markdown outputs.
struct GateOptions: ParsableArguments {
    @Option(name: .customLong("check"), help: ArgumentHelp("A condition the run must meet, e.g. 'deadlocks == 0' or 'transfer.p99_ms < 50' (repeatable; adds to the workload's checks). Metrics: see docs/ci.md.", valueName: "expr"))
    var checks: [String] = []

    @Option(name: .long, help: ArgumentHelp("Compare with earlier runs: a result directory, or a folder of them (the newest runs of the same workload, variant and settings, up to 5, give a median and a range). See docs/ci.md.", valueName: "dir"))
    var baseline: String?

    @Option(name: .customLong("baseline-if-exists"), help: ArgumentHelp("As --baseline, but when DIR holds no run of this workload and variant yet, pass with a note (a pipeline's first run).", valueName: "dir"))
    var baselineIfExists: String?

    @Flag(name: .customLong("force-baseline"), help: "Compare with a baseline made with other settings (workload file, variant, -c, -T/-t, -R, server version) instead of refusing it; warns loudly.")
    var forceBaseline = false

    @Option(name: .customLong("max-regression"), help: ArgumentHelp("With --baseline: fail when a metric gets worse than this, e.g. tps=10%,p99_ms=20%,deadlocks_per_1k=0 (N% relative, N in the metric's unit).", valueName: "limits"))
    var maxRegression: String?

    @Option(name: .long, help: ArgumentHelp("Write JUnit XML here: one test case per check, regression gate and invariant.", valueName: "file"))
    var junit: String?

    @Option(name: .long, help: ArgumentHelp("Write a Markdown summary here (e.g. \"$GITHUB_STEP_SUMMARY\"; appended to when the file exists).", valueName: "file"))
    var markdown: String?

    func validate() throws {
        if baseline != nil && baselineIfExists != nil { throw ValidationError("give either --baseline or --baseline-if-exists, not both") }
        if maxRegression != nil && baseline == nil && baselineIfExists == nil {
            throw ValidationError("--max-regression needs --baseline or --baseline-if-exists: the limits are relative to earlier runs")
        }
        if forceBaseline && baseline == nil && baselineIfExists == nil { throw ValidationError("--force-baseline needs --baseline or --baseline-if-exists") }
    }

    var settings: GateSettings {
        var settings = GateSettings()
        settings.checks = checks
        settings.baseline = baseline ?? baselineIfExists
        settings.baselineOptional = baselineIfExists != nil
        settings.forceBaseline = forceBaseline
        settings.maxRegression = maxRegression
        settings.junit = junit
        settings.markdown = markdown
        return settings
    }
}
