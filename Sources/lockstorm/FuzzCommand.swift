import ArgumentParser
import LockstormApp

struct FuzzCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fuzz",
        abstract: "Hunt for deadlocks: run a workload under perturbed schedules and write a reproduction of each distinct cycle.",
        discussion: """
            Fuzzing runs in short rounds (each client runs --round-transactions transactions). Each round draws, \
            from the seed and its number only: 2-8 clients; a hot set of 2, 3, 4, 8 or 16 (every integer \
            uniform(lo, hi) draw becomes uniform(lo, lo+size-1), never fewer values than a != draw needs); and a \
            pause of uniform(0, 0 / 0.2 / 1 / 3 ms) added between consecutive SQL steps. The same --seed makes \
            the same decisions and the same draws; how the server interleaves them still varies from run to run.

            Each new cycle is printed when found, with a reproduction (a scenario file with an order) verified by \
            replaying it before it is saved in the output directory. Replay it with 'lockstorm replay FILE'. \
            Drawn values are fixed in the reproduction; a step that captures values (into:) is re-run and what it \
            returns is used by the later steps, so generated keys reproduce. A cycle whose participants' statements \
            could not all be told is counted as unattributed, never reported as found. Steps are numbered as the \
            template lists them (pauses included), as 'lockstorm run' numbers them.

            -T is the budget of the whole command: rounds and the replays that verify reproductions stop when it \
            is spent, and the output says what was skipped. On a --dsn server, fuzz reads the server's \
            deadlock_timeout and lowers it per session where the role may (the header says which).

            Exit codes: 0 no deadlock found, 1 at least one found, 2 usage or workload error, 3 run error.
            """
    )

    @Argument(help: "Workload file or shipped workload name.")
    var workload: String

    @Option(name: .long, help: "Variant to fuzz (default: the workload's default variant).")
    var variant: String?

    @Option(name: [.customShort("T"), .long], help: ArgumentHelp("Budget of the whole command, verification included (seconds or a duration such as 30s); default 30s.", valueName: "duration"))
    var time: TimeSpan?

    @Option(name: .long, help: "Fuzz for this many rounds instead of a time.")
    var iterations: Int?

    @Option(name: .long, help: "Seed of every fuzzing decision (default: random, printed).")
    var seed: UInt64?

    @Flag(name: .customLong("stop-on-first"), help: "Stop at the first cycle whose reproduction is verified.")
    var stopOnFirst = false

    @Option(name: .customLong("round-transactions"), help: "Transactions each client runs per round.")
    var roundTransactions = 25

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a workload parameter (repeatable).", valueName: "name=value"))
    var overrides: [ParameterOverride] = []

    @Option(name: .long, help: ArgumentHelp("Directory under which a fuzz-WORKLOAD-VARIANT-TIME folder receives the reproductions.", valueName: "dir"))
    var out: String = "results"

    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        if time != nil && iterations != nil { throw ValidationError("give either -T (duration) or --iterations (rounds), not both") }
        if let time, time.seconds <= 0 { throw ValidationError("-T '\(time)' is not a duration: give seconds (10) or a duration (30s)") }
        if let iterations, iterations < 1 { throw ValidationError("--iterations must be at least 1") }
        if roundTransactions < 1 { throw ValidationError("--round-transactions must be at least 1") }
    }

    func run() throws {
        var request = FuzzRequest(workload: workload)
        request.variant = variant
        request.time = time
        request.iterations = iterations
        request.seed = seed
        request.stopOnFirst = stopOnFirst
        request.roundTransactions = roundTransactions
        request.overrides = overrides
        request.resultsRoot = out
        request.database = database.target
        try FuzzPipeline().execute(request)
    }
}
