import Foundation
import LockstormCore

/// `lockstorm validate` and `lockstorm list`: workload and scenario files
/// without a database.
public struct WorkloadCatalog {
    public let output: any OutputSink

    public init(output: any OutputSink = StandardOutput()) {
        self.output = output
    }

    /// Checks each file, printing `ok` or every problem; exit 2 when any
    /// has one. A file (or `-`, standard input) with a top-level `sessions:`
    /// is a scenario; any other name is a workload, shipped or not.
    public func validate(_ names: [String]) throws {
        var failed = false
        for name in names {
            do {
                let label = InputFile.displayName(name)
                if InputFile.isStandardInput(name) || FileManager.default.fileExists(atPath: name) {
                    let data = try InputFile.read(try WorkloadLoader.resolve(name), name: name, what: "workload")
                    if ScenarioLoader.isScenario(data) {
                        let scenario = try ScenarioLoader.parse(data, name: name)
                        output.line("\(label): ok (scenario: \(scenario.sessions.count) session(s); \(ScenarioLoader.ordersToRun(scenario)))")
                        continue
                    }
                    report(try WorkloadLoader.parse(data, name: name), label: label)
                    continue
                }
                report(try WorkloadLoader.load(name).0, label: label)
            } catch let failure as Failure {
                failed = true
                output.writeError(failure.message + "\n")
            }
        }
        if failed { throw Failure(.usage, "") }
    }

    private func report(_ workload: Workload, label: String) {
        let variants = workload.variants.isEmpty ? "no variants" : "variants: \(workload.variantNames.joined(separator: ", "))"
        output.line("\(label): ok (\(workload.transactions.count) transaction(s), \(variants))")
    }

    /// The shipped workloads, their variants (the default marked) and the shipped scenarios.
    public func list() throws {
        let directory = WorkloadLoader.shippedDirectory
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).filter { $0.hasSuffix(".yaml") }.sorted()
        guard !files.isEmpty else { throw Failure(.usage, "lockstorm: no workloads in \(directory.path)") }
        var loaded: [(file: String, workload: Workload?)] = []
        for file in files {
            let path = directory.appendingPathComponent(file).path
            loaded.append((file, (try? WorkloadLoader.load(path))?.0))
        }
        // Variant names in one column across every workload, the default marked.
        let width = loaded.compactMap(\.workload).flatMap(\.variants).map { $0.name.count }.max() ?? 0
        for (index, entry) in loaded.enumerated() {
            if index > 0 { output.line() }
            guard let workload = entry.workload else {
                output.line("\(entry.file): invalid (run 'lockstorm validate \(directory.appendingPathComponent(entry.file).path)')")
                continue
            }
            output.line("\(entry.file) — \(firstLine(workload.description))")
            for variant in workload.variants {
                let name = variant.name.padding(toLength: width, withPad: " ", startingAt: 0)
                let marker = variant.name == workload.effectiveDefaultVariant ? "*" : " "
                output.line("  \(marker) \(name)  \(firstLine(variant.description))")
            }
        }
        output.line("\n* the default variant. Run one with: lockstorm run \(loaded.first?.file ?? "WORKLOAD.yaml") --variant NAME (or --all-variants)")
        let scenarios = ((try? FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("scenarios").path)) ?? [])
            .filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(5)) }.sorted()
        if !scenarios.isEmpty { output.line("scenarios (lockstorm explore NAME): \(scenarios.joined(separator: ", "))") }
    }

    private func firstLine(_ text: String) -> String {
        text.split(separator: "\n").first.map { String($0).trimmingCharacters(in: .whitespaces) } ?? ""
    }
}
