import ArgumentParser
import Foundation
import LockstormApp

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Run variants side by side, optionally swept over clients or a parameter, and compare them.",
        discussion: """
            Runs every variant at every sweep point (--repeat times each) on one server, with a fresh teardown and \
            setup per cell, prints a comparison table and writes <out>/compare-<workload>-<timestamp>/ with \
            comparison.csv and report.html (variants side by side, tps, p99 and error rates against the swept value).
            """
    )

    @Argument(help: "Workload file or shipped workload name.")
    var workload: String

    @Option(name: .long, help: ArgumentHelp("Variants to compare, comma-separated (default: all of them).", valueName: "a,b,…"))
    var variants: String?

    @Option(name: .long, help: ArgumentHelp("Sweep: clients=1,4,16,64 changes the client count; any other name is a workload parameter (repeatable: the product is run).", valueName: "name=v1,v2,…"), transform: { try SweepDimension.parse($0).get() })
    var sweep: [SweepDimension] = []

    @Option(name: .customLong("repeat"), help: "Run each cell this many times; the table shows the median and the range.")
    var repeats: Int = 1

    @OptionGroup var load: LoadArguments
    @OptionGroup var database: DatabaseOptions

    @Option(name: .long, help: ArgumentHelp("Directory for the comparison folder.", valueName: "dir"))
    var out: String = "results"

    @Flag(name: .shortAndLong, help: "No per-cell progress lines.")
    var quiet = false

    func validate() throws {
        if repeats < 1 { throw ValidationError("--repeat must be at least 1") }
        if repeats > 1000 { throw ValidationError("--repeat above 1000 is not a comparison anyone will wait for") }
        var names: Set<String> = []
        for dimension in sweep {
            if !names.insert(dimension.name).inserted { throw ValidationError("--sweep \(dimension.name) is given twice; put all its values in one --sweep") }
            if dimension.isClients && load.clients != nil { throw ValidationError("give either -c/--clients or --sweep clients=…, not both") }
        }
        if sweep.count > 3 { throw ValidationError("at most three --sweep dimensions") }
    }

    func run() throws {
        var request = CompareRequest(workload: workload)
        request.variants = variants.map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } }
        request.sweeps = sweep
        request.repeats = repeats
        request.load = load.settings
        request.database = database.target
        request.resultsRoot = out
        request.quiet = quiet
        request.commandLine = CommandLine.arguments
        try ComparePipeline().execute(request)
    }
}
