import ArgumentParser
import LockstormApp

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge the result folders of the shards of one run (run --shard K/N) into one result folder.",
        discussion: """
            Counts are summed, latency histograms merged exactly from each shard's latency.hlog, time series \
            aligned on the common start, errors and deadlock cycles merged, and the server's deadlock counter \
            checked once over the union of the shards' windows. Folders that are not shards 0..N-1 of one run \
            (workload hash, variant, seed, shard count, clients, run id) are refused (exit 2).
            """
    )

    @Argument(help: ArgumentHelp("The shards' result folders, one per shard.", valueName: "dir"))
    var directories: [String]

    @Option(name: .long, help: ArgumentHelp("The merged result folder to create (must not exist, or be empty).", valueName: "dir"))
    var out: String

    func validate() throws {
        if directories.isEmpty { throw ValidationError("give the shards' result folders to merge") }
    }

    func run() throws {
        try MergePipeline().execute(directories: directories, out: out, commandLine: CommandLine.arguments)
    }
}
