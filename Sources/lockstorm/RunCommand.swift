import ArgumentParser
import LockstormApp

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a workload and report throughput, latency and failures by SQLSTATE.",
        discussion: "WORKLOAD is a YAML file, or the name of a shipped workload (see 'lockstorm list')."
    )

    @Argument(help: "Workload file or shipped workload name; - reads standard input.")
    var workload: String

    @Option(name: .long, help: "Variant to run (default: the workload's default variant).")
    var variant: String?

    @Flag(name: .customLong("all-variants"), help: "Run every variant in turn.")
    var allVariants = false

    @OptionGroup var load: LoadArguments
    @OptionGroup var database: DatabaseOptions
    @OptionGroup(title: "CI gate") var gate: GateOptions

    @Option(name: .long, help: ArgumentHelp("Directory for result folders.", valueName: "dir"))
    var out: String = "results"

    @Flag(name: .customLong("allow-unexpected-errors"), help: "Count errors the workload does not declare (a missing table, a syntax error) without failing the run or stopping it early.")
    var allowUnexpectedErrors = false

    @Flag(name: .customLong("keep-data"), help: "Skip the workload's teardown after the run (inspect the tables afterwards).")
    var keepData = false

    @Option(name: [.customShort("P"), .long], help: ArgumentHelp("Print a progress line to stderr every this many seconds.", valueName: "seconds"))
    var progress: Double?

    @Flag(name: .shortAndLong, help: "No progress output (neither the bar nor -P lines).")
    var quiet = false

    @Option(name: .long, help: "Summary on stdout as tables (default) or as one JSON object with every verdict, for scripts (schema lockstorm.run v1, results/README.md).")
    var format: RunRequest.SummaryFormat = .table

    @Option(name: .customLong("sample-interval"), help: ArgumentHelp("How often the lock-wait sampler looks at the run's sessions in pg_stat_activity and pg_locks; 0 turns it off.", valueName: "duration"))
    var sampleInterval = TimeSpan(seconds: 0.2, text: "200ms")

    @Option(name: .customLong("interval"), help: ArgumentHelp("Length of one time-series interval, e.g. 1s or 500ms.", valueName: "duration"))
    var interval = TimeSpan(seconds: 1, text: "1s")

    @OptionGroup(title: "Shards (one run over several processes or machines)") var shards: ShardArguments

    func validate() throws {
        try shards.validate(seed: load.seed)
        if variant != nil && allVariants { throw ValidationError("give either --variant or --all-variants, not both") }
        if let progress, !(progress > 0) { throw ValidationError("-P/--progress must be above 0 seconds") }
        if interval.seconds < 0.01 {
            throw ValidationError("--interval '\(interval)' must be a duration of at least 10ms, such as 1s")
        }
    }

    func run() throws {
        var request = RunRequest(workload: workload)
        request.variant = variant
        request.allVariants = allVariants
        request.load = load.settings
        request.database = database.target
        request.gate = gate.settings
        request.resultsRoot = out
        request.keepData = keepData
        request.progressSeconds = progress
        request.quiet = quiet
        request.format = format
        request.sampleInterval = sampleInterval
        request.interval = interval
        request.commandLine = CommandLine.arguments
        request.allowUnexpectedErrors = allowUnexpectedErrors
        request.sharding = shards.request
        try RunPipeline().execute(request)
    }
}
