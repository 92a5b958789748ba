import ArgumentParser
import Engine
import Foundation
import LockstormCore
import PostgresClient
import Reports

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

    @Option(name: .long, help: ArgumentHelp("Sweep: clients=1,4,16,64 changes the client count; any other name is a workload parameter (repeatable: the product is run).", valueName: "name=v1,v2,…"))
    var sweep: [String] = []

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
        for text in sweep {
            switch Sweep.parse(text) {
            case .failure(let error): throw ValidationError(error.description)
            case .success(let parsed):
                if !names.insert(parsed.name).inserted { throw ValidationError("--sweep \(parsed.name) is given twice; put all its values in one --sweep") }
                if parsed.isClients && load.clients != nil { throw ValidationError("give either -c/--clients or --sweep clients=…, not both") }
            }
        }
        if sweep.count > 3 { throw ValidationError("at most three --sweep dimensions") }
    }

    private struct Cell {
        var variant: String?
        var point: [SweepValue]
        var plan: RunPlan
        var options: LoadOptions
    }

    func run() throws {
        let (workload, _, _) = try WorkloadLoader.load(self.workload)
        let sweeps = sweep.compactMap { try? Sweep.parse($0).get() }
        let variantNames: [String?]
        if let variants {
            variantNames = variants.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
        } else {
            variantNames = workload.variants.isEmpty ? [nil] : workload.variantNames
        }

        // Compile every cell first: a mistake is reported before anything runs.
        var cells: [Cell] = []
        let seed = load.seed ?? UInt64.random(in: 1...UInt64(Int64.max))
        for point in Sweep.points(sweeps) {
            let parameters = point.filter { $0.name != "clients" }.map { (name: $0.name, value: Value.parse(text: $0.value)) }
            for variant in variantNames {
                let plan: RunPlan
                do {
                    plan = try workload.plan(variant: variant, overrides: load.parameterOverrides + parameters, file: self.workload)
                } catch {
                    throw Failure(.usage, error.description.replacingOccurrences(of: "--set ", with: parameters.isEmpty ? "--set " : "--set/--sweep "))
                }
                var options = load.options(for: plan)
                options.seed = seed
                if let clients = point.first(where: { $0.name == "clients" }).flatMap({ Int($0.value) }) { options.clients = clients }
                guard options.clients >= plan.minimumClients else {
                    // Dedicated clients (a reaper, a DDL client) need company: such a cell would measure something else.
                    Console.note("skipping \(plan.variantLabel) at \(options.clients) client\(options.clients == 1 ? "" : "s"): it needs at least \(plan.minimumClients)")
                    continue
                }
                cells.append(Cell(variant: variant, point: point, plan: plan, options: options))
            }
        }
        let total = cells.count * repeats

        let stop = StopSignal()
        let trap = SignalTrap(stop: stop) { signal in
            Console.note("\(signal == SIGINT ? "interrupted" : "terminated"): finishing the cell in flight and writing what was gathered (press Ctrl-C again to quit at once)")
        }
        defer { withExtendedLifetime(trap) {} }

        let (dsn, server) = try database.server(clients: cells.map(\.options.clients).max() ?? 1)
        defer { server?.stop() }

        let variantLabels = cells.reduce(into: [String]()) { labels, cell in
            if !labels.contains(cell.plan.variantLabel) { labels.append(cell.plan.variantLabel) }
        }
        let first = cells.first?.options
        let length = first?.durationSeconds.map { "\(Format.fixed($0, digits: 1)) s" } ?? "\(first?.transactionsPerClient ?? 0) transactions per client"
        var results: [ComparisonCell] = []
        var serverVersion: String?
        var runError: String?
        var done = 0
        outer: for cell in cells {
            var result = ComparisonCell(variant: cell.plan.variantLabel, point: cell.point)
            for repetition in 1...repeats {
                if stop.isSet { break }
                done += 1
                var options = cell.options
                options.seed = seed &+ UInt64(repetition - 1)
                let where_ = ([cell.plan.variantLabel] + cell.point.map(\.description)).joined(separator: ", ")
                if !quiet { Console.note("[\(done)/\(total)] \(where_)\(repeats > 1 ? ", run \(repetition)" : ""): \(options.clients) clients") }
                do {
                    let outcome = try LoadRunner.run(plan: cell.plan, dsn: dsn, options: options, stop: stop)
                    serverVersion = outcome.server.version
                    result.runs.append(MetricSample(outcome.summary))
                    result.invariantsHeld.append(outcome.summary.invariantFailures == 0)
                    if outcome.summary.partial { result.partial = true }
                    if outcome.serverLost {
                        runError = "lost the server during \(where_)"
                        if !result.runs.isEmpty { results.append(result) }
                        break outer
                    }
                } catch {
                    runError = "\(where_): \(error)"
                    if !result.runs.isEmpty { results.append(result) }
                    break outer
                }
            }
            if !result.runs.isEmpty { results.append(result) }
            if stop.isSet { break }
        }

        let info = ComparisonInfo(
            workload: workload.name, variants: variantLabels, sweeps: sweeps, repeats: repeats, length: length, server: serverVersion,
            commandLine: RunCommand.redactedCommandLine(CommandLine.arguments), partial: stop.isSet || runError != nil || results.count < cells.count)
        if !results.isEmpty {
            print(ComparisonReport.table(results, info: info))
            do {
                let writer = try ResultWriter(root: URL(fileURLWithPath: out), workload: "compare-" + workload.name, variant: sweeps.map(\.name).joined(separator: "-").isEmpty ? "variants" : sweeps.map(\.name).joined(separator: "-"))
                try writer.write("comparison.csv", ComparisonReport.csv(results, sweeps: sweeps))
                try writer.write("report.html", ComparisonReport.html(results, info: info))
                print("results: \(GateOptions.relative(writer.directory.path))/\n")
            } catch {
                Console.note("could not write the comparison: \(error.localizedDescription)")
            }
        }
        if let runError { throw Failure(.runError, "lockstorm: \(runError)") }
        if let signal = trap.firstSignal { throw Failure(signal == SIGINT ? .interrupted : .terminated, "") }
        if results.contains(where: { $0.invariantsHeld.contains(false) }) {
            throw Failure(.checksFailed, "lockstorm: invariants failed in some cells (see the invariants column)")
        }
    }
}
