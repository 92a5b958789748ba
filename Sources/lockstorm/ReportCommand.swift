import ArgumentParser
import Foundation
import Reports

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Re-render a result directory's report.html from its CSV and JSON files.",
        discussion: """
            DIR is a result directory written by 'lockstorm run' (results/<workload>-<variant>-<timestamp>/). \
            It needs summary.csv; timeseries.csv, latency.csv, errors.csv and run.json are used when present. \
            The report is one self-contained file: no scripts and no network access.
            """
    )

    @Argument(help: ArgumentHelp("Result directory.", valueName: "dir"))
    var directory: String

    func run() throws {
        let url = URL(fileURLWithPath: directory, isDirectory: true)
        let written: URL
        do {
            written = try HTMLReport.write(directory: url)
        } catch let error as ResultFilesError {
            throw Failure(.usage, "lockstorm: \(error.description)")
        } catch {
            throw Failure(.runError, "lockstorm: cannot write the report in \(directory): \(error.localizedDescription)")
        }
        print(relativePath(written.path))
    }

    private func relativePath(_ path: String) -> String {
        let current = FileManager.default.currentDirectoryPath + "/"
        return path.hasPrefix(current) ? String(path.dropFirst(current.count)) : path
    }
}
