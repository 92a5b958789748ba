import ArgumentParser
import LockstormApp

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check workload (or scenario) files without a database; print every problem as file:line:col."
    )

    @Argument(help: "Workload files or shipped workload names; - reads standard input.")
    var workloads: [String]

    func run() throws {
        try WorkloadCatalog().validate(workloads)
    }
}

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the shipped workloads and their variants.")

    func run() throws {
        try WorkloadCatalog().list()
    }
}
