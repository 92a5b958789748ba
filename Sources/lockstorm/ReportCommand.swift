import ArgumentParser
import LockstormApp

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Re-render a result directory's report.html from its CSV and JSON files.",
        discussion: """
            DIR is a result directory written by 'lockstorm run' (results/<workload>-<variant>-<timestamp>/), \
            which needs summary.csv (timeseries.csv, latency.csv, errors.csv and run.json are used when present), \
            or a compare directory (results/compare-<workload>-…/), rendered from its comparison.json and the \
            summary.csv of each cell's folder under cells/, the same bytes as compare wrote. \
            The report is one self-contained file: no scripts and no network access.
            """
    )

    @Argument(help: ArgumentHelp("Result directory.", valueName: "dir"))
    var directory: String

    func run() throws {
        try ResultReport().rerender(directory: directory)
    }
}
