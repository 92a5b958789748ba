import ArgumentParser
import Foundation
import LockstormCore

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check workload (or scenario) files without a database; print every problem as file:line:col."
    )

    @Argument(help: "Workload files or shipped workload names.")
    var workloads: [String]

    func run() throws {
        var failed = false
        for name in workloads {
            do {
                if ScenarioLoader.isScenarioFile(name) {
                    let scenario = try ScenarioLoader.load(name)
                    let count = Interleavings.count(stepCounts: scenario.stepCounts).map(String.init) ?? "too many"
                    print("\(name): ok (scenario: \(scenario.sessions.count) session(s), \(count) interleavings)")
                    continue
                }
                let (workload, _, _) = try WorkloadLoader.load(name)
                let variants = workload.variants.isEmpty ? "no variants" : "variants: \(workload.variantNames.joined(separator: ", "))"
                print("\(name): ok (\(workload.transactions.count) transaction(s), \(variants))")
            } catch let failure as Failure {
                failed = true
                try? FileHandle.standardError.write(contentsOf: Data((failure.message + "\n").utf8))
            }
        }
        if failed { throw Failure(.usage, "") }
    }
}

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the shipped workloads and their variants.")

    func run() throws {
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
            if index > 0 { print("") }
            guard let workload = entry.workload else {
                print("\(entry.file): invalid (run 'lockstorm validate \(directory.appendingPathComponent(entry.file).path)')")
                continue
            }
            print("\(entry.file) — \(firstLine(workload.description))")
            for variant in workload.variants {
                let name = variant.name.padding(toLength: width, withPad: " ", startingAt: 0)
                let marker = variant.name == workload.effectiveDefaultVariant ? "*" : " "
                print("  \(marker) \(name)  \(firstLine(variant.description))")
            }
        }
        print("\n* the default variant. Run one with: lockstorm run \(loaded.first?.file ?? "WORKLOAD.yaml") --variant NAME (or --all-variants)")
        let scenarios = ((try? FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("scenarios").path)) ?? [])
            .filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(5)) }.sorted()
        if !scenarios.isEmpty { print("scenarios (lockstorm explore NAME): \(scenarios.joined(separator: ", "))") }
    }

    private func firstLine(_ text: String) -> String {
        text.split(separator: "\n").first.map { String($0).trimmingCharacters(in: .whitespaces) } ?? ""
    }
}
