import Foundation
import Testing
@testable import LockstormApp
@testable import LockstormCore

/// The bad-input corpus: one broken workload or scenario per file under
/// `Tests/lockstormTests/Fixtures/bad-input/`, each starting with the line
/// `# expect: LINE:COL: MESSAGE`, the first problem `validate` must print.
/// Every file goes through the code `lockstorm validate` runs (scenarios
/// through the loader explore and replay use as well).
@Suite("Bad-input corpus")
struct BadInputCorpusTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("lockstormTests/Fixtures/bad-input")

    /// Each case's path and expected first message.
    static func cases(_ folder: String) throws -> [(path: String, expected: String)] {
        let directory = root.appendingPathComponent(folder)
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".yaml") }.sorted()
        return try names.map { name in
            let path = directory.appendingPathComponent(name).path
            let text = try String(contentsOfFile: path, encoding: .utf8)
            let first = text.split(separator: "\n", maxSplits: 1).first.map(String.init) ?? ""
            #expect(first.hasPrefix("# expect: "), "\(name) has no '# expect:' line")
            return (path, String(first.dropFirst("# expect: ".count)))
        }
    }

    /// The first line `validate` writes to stderr for `path`, and how long it took.
    static func validate(_ path: String) -> (first: String, failed: Bool, elapsed: Duration) {
        let output = RecordingOutput()
        let clock = ContinuousClock()
        let started = clock.now
        var failed = false
        do { try WorkloadCatalog(output: output).validate([path]) } catch { failed = true }
        let elapsed = clock.now - started
        return (output.errors.split(separator: "\n").first.map(String.init) ?? "", failed, elapsed)
    }

    @Test("every broken workload is rejected at its place with the expected message, quickly")
    func workloads() throws {
        let cases = try Self.cases("workloads")
        #expect(cases.count >= 60)
        var slowest = Duration.zero
        defer { FileHandle.standardError.write(Data("bad-input corpus: \(cases.count) workloads, the slowest rejected in \(slowest)\n".utf8)) }
        for (path, expected) in cases {
            let result = Self.validate(path)
            slowest = max(slowest, result.elapsed)
            #expect(result.failed, "\(path) was accepted")
            #expect(result.first == "\(path):\(expected)")
            // A guard against pathological slowness, not a benchmark.
            #expect(result.elapsed < .seconds(2), "\(path) took \(result.elapsed)")
        }
    }

    @Test("every broken scenario is rejected at its place with the expected message, quickly")
    func scenarios() throws {
        let cases = try Self.cases("scenarios")
        #expect(cases.count >= 30)
        for (path, expected) in cases {
            let clock = ContinuousClock()
            let started = clock.now
            var message = ""
            do {
                _ = try ScenarioLoader.load(path)
            } catch let failure as Failure {
                message = failure.message.split(separator: "\n").first.map(String.init) ?? ""
            }
            #expect(clock.now - started < .seconds(2), "\(path)")
            #expect(message == "\(path):\(expected)")
            // validate reads a file with a top-level 'sessions:' as a scenario: the same message.
            if ScenarioLoader.isScenario(try Data(contentsOf: URL(fileURLWithPath: path))) {
                #expect(Self.validate(path).first == message)
            }
        }
    }

    /// Checks too deep or too long to store: 13,400 parentheses and 87,000
    /// `&&` terms crashed the check parser (SIGSEGV).
    @Test("checks nested or chained past the limits are rejected, not crashed on")
    func hugeChecks() throws {
        let deep = String(repeating: "(", count: 13_400) + "deadlocks == 0" + String(repeating: ")", count: 13_400)
        let long = Array(repeating: "deadlocks == 0", count: 87_000).joined(separator: " && ")
        let parser = CheckParser(transactions: ["tx"])
        #expect(throws: CheckError.self) { try parser.parse(deep) }
        #expect(throws: CheckError.self) { try parser.parse(long) }
        // In a workload (87,000 terms would pass the file size limit: 20,000).
        let chain = Array(repeating: "deadlocks == 0", count: 20_000).joined(separator: " && ")
        let text = "name: t\ntransactions:\n  tx:\n    steps: [SELECT 1]\nchecks:\n  - \"\(deep)\"\n  - \"\(chain)\"\n"
        do {
            _ = try WorkloadParser.parse(text, file: "w.yaml")
            Issue.record("accepted")
        } catch {
            let messages = error.diagnostics.map(\.description)
            #expect(messages.count == 2)
            #expect(messages.first?.hasPrefix("w.yaml:6:106: check '((((((") == true)
            #expect(messages.first?.hasSuffix(": the check nests deeper than 100 levels") == true)
            #expect(messages.last?.hasSuffix(": the check is too long: more than 1000 tokens") == true)
            #expect(messages.last?.hasPrefix("w.yaml:7:") == true)
        }
    }

    @Test("a file over the size limit is rejected before it is read, naming the limit")
    func oversizedFile() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("lst-big-\(UUID().uuidString.prefix(8)).yaml")
        var text = "name: t\ntransactions:\n  tx:\n    steps: [SELECT 1]\nparams:\n"
        var index = 0
        while text.utf8.count <= InputLimits.maxFileBytes { text += "  p\(index): \(index)\n"; index += 1 }
        try text.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let result = Self.validate(file.path)
        #expect(result.failed)
        #expect(result.first == "lockstorm: \(file.path) is 1.0 MB, over lockstorm's limit of 1 MB for a workload file")
        // The parser applies the same limit to text it is handed.
        #expect(diagnosticsOf(text) == ["w.yaml:1:1: the file is 1.0 MB, over lockstorm's limit of 1 MB for a workload file; load bulk data from SQL (generate_series, COPY in setup) instead of writing it out"])
    }

    private func diagnosticsOf(_ text: String) -> [String] {
        do {
            _ = try WorkloadParser.parse(text, file: "w.yaml")
            return []
        } catch {
            return error.diagnostics.map(\.description)
        }
    }
}
