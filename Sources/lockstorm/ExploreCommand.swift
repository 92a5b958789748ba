import ArgumentParser
import LockstormApp

struct ExploreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explore",
        abstract: "Run every interleaving of a scenario's sessions and show which deadlock, block, commit or fail.",
        discussion: """
            SCENARIO is a scenario file (see workloads/scenarios/README.md) or the name of a shipped one \
            (transfer-unordered, transfer-ordered, nowait). Each interleaving starts from a fresh setup; a step \
            counts as blocked when the server lists its session in pg_blocking_pids.

            Exit codes: 0 no interleaving deadlocked, 1 at least one deadlocked, 2 usage or scenario error \
            (including more interleavings than --limit), 3 run error.
            """
    )

    @Argument(help: "Scenario file or shipped scenario name.")
    var scenario: String

    @Option(name: .long, help: "Refuse scenarios with more interleavings than this.")
    var limit = ExploreRequest.defaultLimit

    @Option(name: .long, help: ArgumentHelp("Also write one row per interleaving to this CSV file.", valueName: "file"))
    var csv: String?

    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        if limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    func run() throws {
        var request = ExploreRequest(scenario: scenario)
        request.limit = limit
        request.csv = csv
        request.database = database.target
        try ExplorePipeline().execute(request)
    }
}
