import ArgumentParser
import LockstormApp

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Run a reproduction's recorded order and say whether the deadlock happened again.",
        discussion: """
            FILE is a scenario with an 'order:' (fuzz writes these). Each step is issued in that order; lockstorm \
            waits until it has completed or the server shows it blocked (pg_blocking_pids), then issues the next.

            Exit codes: 0 every run reproduced the expected outcome ('expect:', a deadlock by default, with the \
            recorded signature when one is given), 1 some run did not, 2 usage or scenario error, 3 run error.
            """
    )

    @Argument(help: "Reproduction (scenario) file.")
    var file: String

    @Option(name: .long, help: "Replay this many times in a row.")
    var runs = 1

    @Flag(name: .shortAndLong, help: "Show every step of every run (default: of the first).")
    var verbose = false

    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        if runs < 1 { throw ValidationError("--runs must be at least 1") }
    }

    func run() throws {
        var request = ReplayRequest(file: file)
        request.runs = runs
        request.verbose = verbose
        request.database = database.target
        try ReplayPipeline().execute(request)
    }
}
