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
            comparison.json, comparison.csv, report.html (variants side by side, throughput, log-scale latency and \
            error rates against the swept value) and cells/, one full result folder per cell and run (as 'run' writes). \
            The best value at each sweep point is marked only when the cell did the work (at most 50 % of its \
            attempts failed and its throughput is at least half the best) and the lead is clear of the noise (more \
            than 10 % for single runs; with --repeat, ranges that do not overlap). 'lockstorm report DIR' renders \
            the page again. --format json prints comparison.json's object (results/README.md).
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

    @Flag(name: .long, help: "Show each repeated cell's range (min–max) beside its median in the table (wide).")
    var ranges = false

    @Option(name: .long, help: ArgumentHelp("What goes to stdout: the table, or the comparison as one JSON object (comparison.json).", valueName: "table|json"))
    var format: CompareFormat = .table

    enum CompareFormat: String, ExpressibleByArgument, CaseIterable {
        case table, json
    }

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
        request.ranges = ranges
        request.format = format == .json ? .json : .table
        request.commandLine = CommandLine.arguments
        try ComparePipeline().execute(request)
    }
}
