import Foundation
import Reports
import Testing
import TestSupport

/// docs/ci.md's pipeline and `--format json` as a CI job meets them: the
/// built binary, real runs on the embedded server, exit codes and files.
@Suite("the CI pipeline of docs/ci.md and run --format json (the binary)", .serialized, .disabled(if: TestServer.skipped, "LOCKSTORM_SKIP_DB_TESTS=1"))
struct CIPipelineTests {
    static let root = TestServer.repositoryRoot

    private func scratch() throws -> String {
        let path = "/tmp/lst-ci-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    private func run(_ arguments: [String], in tmp: String, timeout: Double = 120) throws -> (Int32?, ChildProcess) {
        let child = try ChildProcess(LockstormBinary.path, arguments, environment: ["TMPDIR": tmp])
        return (child.wait(timeout: timeout), child)
    }

    /// The `lockstorm run` command of docs/ci.md's "A pipeline that keeps its
    /// own baseline", as its words: the test runs what the page says.
    static func documentedPipelineCommand() throws -> [String] {
        let guide = try String(contentsOf: root.appendingPathComponent("docs/ci.md"), encoding: .utf8)
        let section = try #require(guide.range(of: "### A pipeline that keeps its own baseline"))
        let rest = guide[section.upperBound...]
        let open = try #require(rest.range(of: "```sh\n"))
        let close = try #require(rest[open.upperBound...].range(of: "```"))
        let text = rest[open.upperBound..<close.lowerBound].replacingOccurrences(of: "\\\n", with: " ")
        var words: [String] = []
        var word = ""
        var quoted = false
        for character in text {
            if character == "'" { quoted.toggle(); continue }
            if character.isWhitespace && !quoted {
                if !word.isEmpty { words.append(word) }
                word = ""
            } else {
                word.append(character)
            }
        }
        if !word.isEmpty { words.append(word) }
        #expect(words.first == "lockstorm")
        return Array(words.dropFirst())
    }

    /// The documented command with its relative paths made absolute (the
    /// workload in the repository, the rest in `tmp`) and `-T` shortened.
    static func pipeline(in tmp: String, seconds: String = "2") throws -> [String] {
        var words = try documentedPipelineCommand()
        for index in words.indices.dropFirst() {
            switch words[index - 1] {
            case "run": words[index] = root.appendingPathComponent(words[index]).path
            case "--out", "--baseline-if-exists", "--junit": words[index] = tmp + "/" + words[index]
            case "-T": words[index] = seconds
            default: break
            }
        }
        return words + ["-q"]
    }

    @Test("docs/ci.md's pipeline from an empty folder: the first run passes with a note, the second gates against the first")
    func pipelineTwiceFromEmpty() throws {
        let tmp = try scratch()
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let command = try Self.pipeline(in: tmp)
        #expect(command.contains("--baseline-if-exists") && command.contains("--max-regression"))

        let (first, one) = try run(command, in: tmp)
        #expect(first == 0, "stderr: \(one.standardError)")
        #expect(one.standardError.contains("lockstorm: no baseline yet in \(tmp)/results for transfers/ordered: nothing to compare with; this run's results can be the next baseline"))
        #expect(one.standardOutput.contains("baseline: no baseline yet in"))
        let afterFirst = try FileManager.default.contentsOfDirectory(atPath: tmp + "/results").filter { $0.hasPrefix("transfers-ordered-") }
        #expect(afterFirst.count == 1)
        let firstDirectory = tmp + "/results/" + (try #require(afterFirst.first))
        #expect(!FileManager.default.fileExists(atPath: firstDirectory + "/baseline.csv"))

        let (second, two) = try run(command, in: tmp)
        #expect(two.standardOutput.contains("against the baseline \(firstDirectory):"), "stdout: \(two.standardOutput)")
        #expect(two.standardOutput.contains("regression gates (--max-regression):"))
        #expect(!two.standardError.contains("no baseline yet"))
        let runs = try FileManager.default.contentsOfDirectory(atPath: tmp + "/results").filter { $0.hasPrefix("transfers-ordered-") }.sorted()
        #expect(runs.count == 2)
        let secondDirectory = tmp + "/results/" + (try #require(runs.first { tmp + "/results/" + $0 != firstDirectory }))
        let rows = CSVOracle.records(try String(contentsOfFile: secondDirectory + "/baseline.csv", encoding: .utf8))
        let gated = rows.filter { !($0["limit"] ?? "").isEmpty }
        #expect(Set(gated.compactMap { $0["limit"] }) == ["tps=60%", "p99_ms=150%", "deadlocks_per_1k=0"])
        #expect(rows.allSatisfy { $0["baseline_runs"] == "1" })
        // Exit 0 exactly when every gate in baseline.csv passed (and the invariant held).
        let allPassed = gated.allSatisfy { $0["verdict"] == "pass" }
        #expect(second == (allPassed ? 0 : 1), "stdout: \(two.standardOutput)")
    }

    @Test("a baseline made with other settings is refused before the run, naming each differing setting; --force-baseline compares with a warning")
    func settingsMismatchIsRefused() throws {
        let tmp = try scratch()
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let command = try Self.pipeline(in: tmp)
        let (first, one) = try run(command, in: tmp)
        #expect(first == 0, "stderr: \(one.standardError)")

        var other = try Self.pipeline(in: tmp, seconds: "1")
        let clients = try #require(other.firstIndex(of: "-c"))
        other[clients + 1] = "3"
        let (refused, child) = try run(other, in: tmp, timeout: 60)
        #expect(refused == 2, "stderr: \(child.standardError)")
        #expect(child.standardError.contains("was made with other settings than this run"))
        #expect(child.standardError.contains("  clients (-c): baseline 4, this run 3\n"))
        #expect(child.standardError.contains("  duration (-T/-t): baseline -T 2, this run -T 1\n"))
        #expect(!child.standardError.contains("variant:") && !child.standardError.contains("sha256"))
        #expect(!child.standardError.contains("starting an embedded PostgreSQL"), "refused before any server starts")
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp + "/results").count == 1)

        let (forced, loud) = try run(other + ["--force-baseline"], in: tmp)
        #expect(forced == 0 || forced == 1, "stderr: \(loud.standardError)")
        #expect(loud.standardError.contains("WARNING: --force-baseline"))
        #expect(loud.standardOutput.contains("against the baseline"))
    }

    /// The keys results/README.md documents for `lockstorm.run` version 1,
    /// written out here so that renaming one in the code breaks this test.
    static let documentedKeys: [String: [String]] = [
        "document": ["schema", "version", "tool", "verdict", "exit_status", "runs", "message"],
        "run": ["workload", "variant", "settings", "result_directory", "verdict", "partial", "ended", "window_s", "started_at", "ended_at", "summary", "outcomes", "errors", "checks", "baseline", "deadlocks", "lock_waits"],
        "settings": ["clients", "threads", "seed", "requested_duration_s", "begin", "protocol", "parameters", "server_version"],
        "check": ["kind", "name", "verdict", "measured"],
        "baseline": ["source", "runs", "mismatches", "metrics"],
        "metric": ["metric", "baseline", "baseline_min", "baseline_max", "baseline_runs", "current", "delta", "relative_change_pct", "verdict"],
        "deadlocks": ["client", "server_delta", "agree", "groups", "statement_groups"],
        "group": [
            "signature", "count", "group", "group_reason", "cycle_length", "participants", "lock_kinds", "summary", "sample_participants", "sample_waits",
            "sample_holds", "sample_detail", "first_seen_s",
        ],
        "statement_group": ["group", "reason", "count", "signatures", "cycle_lengths"],
        "error": ["sqlstate", "class", "count", "sample_message"],
        "lock_waits": ["samples", "waiting_max", "longest_statement_wait_ms", "longest_wait_ms", "longest_chain"],
    ]

    @Test("run --format json prints one lockstorm.run object: verdicts, baseline, deadlock groups and the exit status, keys as documented")
    func jsonIsTheDocumentedObject() throws {
        let tmp = try scratch()
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let transfers = Self.root.appendingPathComponent("workloads/transfers.yaml").path
        // Unordered transfers of 8 clients over 4 accounts deadlock within a second: there are groups to report.
        let base = ["run", transfers, "--variant", "unordered", "-c", "8", "-T", "2", "--set", "accounts=4", "--deadlock-timeout", "20ms", "--seed", "5", "-q", "--out", tmp + "/results"]
        let (first, baseline) = try run(base, in: tmp)
        #expect(first == 0, "stderr: \(baseline.standardError)")
        let (status, child) = try run(base + ["--format", "json", "--baseline", tmp + "/results", "--max-regression", "deadlocks_per_1k=1000000", "--check", "tps > 1e9"], in: tmp)
        #expect(status == 1, "stderr: \(child.standardError)")
        let data = Data(child.standardOutput.utf8)

        // Typed: the Codable types decode it.
        let document = try JSONDecoder().decode(RunJSON.self, from: data)
        #expect(document.schema == "lockstorm.run" && document.version == 1)
        #expect(document.verdict == .fail && document.exitStatus == 1)
        let run = try #require(document.runs.first)
        #expect(document.runs.count == 1 && run.variant == "unordered" && run.verdict == .fail)
        #expect(run.checks.contains { $0.name == "tps > 1e9" && $0.verdict == "fail" && $0.values?["tps"] != nil })
        #expect(run.checks.contains { $0.kind == "regression" && $0.name == "deadlocks_per_1k=1000000" && $0.verdict == "pass" })
        #expect(run.checks.contains { $0.kind == "invariant" && $0.verdict == "pass" })
        #expect(run.baseline?.runs.count == 1 && run.baseline?.metrics.contains { $0.metric == "tps" } == true)
        #expect(run.deadlocks.client > 0 && !run.deadlocks.groups.isEmpty)
        #expect(run.deadlocks.groups.map(\.count).reduce(0, +) == run.deadlocks.client)
        let total = try #require(run.summary.last)
        #expect(total["transaction"] == .string("total") && total["deadlocks"] == .int(Int64(run.deadlocks.client)))
        #expect(run.settings.clients == 8 && run.settings.requestedDurationSeconds == 2 && run.settings.seed == 5)
        let directory = try #require(run.resultDirectory)
        #expect(FileManager.default.fileExists(atPath: directory + "/run.json"))
        // In JSON mode the checks are in the object, not printed as text on stderr.
        #expect(!child.standardError.contains("PASS  ") && !child.standardError.contains("FAIL  "))
        #expect(child.standardError.contains("lockstorm: checks failed"))

        // Untyped: every documented key is there by that name.
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        func expectKeys(_ name: String, _ value: Any?) {
            guard let dictionary = value as? [String: Any] else {
                Issue.record("\(name) is not an object")
                return
            }
            for key in Self.documentedKeys[name] ?? [] { #expect(dictionary[key] != nil, "\(name) lacks \(key)") }
        }
        expectKeys("document", object)
        let runObject = (object["runs"] as? [[String: Any]])?.first
        expectKeys("run", runObject)
        expectKeys("settings", runObject?["settings"])
        for check in runObject?["checks"] as? [Any] ?? [] { expectKeys("check", check) }
        expectKeys("baseline", runObject?["baseline"])
        for metric in (runObject?["baseline"] as? [String: Any])?["metrics"] as? [Any] ?? [] { expectKeys("metric", metric) }
        expectKeys("deadlocks", runObject?["deadlocks"])
        for group in (runObject?["deadlocks"] as? [String: Any])?["groups"] as? [Any] ?? [] { expectKeys("group", group) }
        let statementGroups = (runObject?["deadlocks"] as? [String: Any])?["statement_groups"] as? [Any] ?? []
        #expect(!statementGroups.isEmpty)
        for group in statementGroups { expectKeys("statement_group", group) }
        for error in runObject?["errors"] as? [Any] ?? [] { expectKeys("error", error) }
        expectKeys("lock_waits", runObject?["lock_waits"])
        // Summary rows carry summary.csv's header, name for name.
        let header = try String(contentsOfFile: directory + "/summary.csv", encoding: .utf8).split(separator: "\n").first.map { $0.split(separator: ",").map(String.init) } ?? []
        let rows = runObject?["summary"] as? [[String: Any]] ?? []
        #expect(!rows.isEmpty && rows.allSatisfy { Set($0.keys) == Set(header) })

        // results/README.md documents each of these keys.
        let readme = try String(contentsOf: Self.root.appendingPathComponent("results/README.md"), encoding: .utf8)
        let section = try #require(readme.range(of: "## `--format json`"))
        let documented = readme[section.lowerBound...]
        for key in Set(Self.documentedKeys.values.joined()) { #expect(documented.contains("`\(key)`"), "results/README.md does not document \(key)") }
    }

    @Test("in a CI log (2>&1) the summary table comes before the verdict line")
    func verdictFollowsTheTable() throws {
        let tmp = try scratch()
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let transfers = Self.root.appendingPathComponent("workloads/transfers.yaml").path
        let command = "'\(LockstormBinary.path)' run '\(transfers)' --variant ordered -c 2 -t 10 --set accounts=50 --out '\(tmp)/results' -q --check 'tps > 1e9' 2>&1"
        let child = try ChildProcess("/bin/sh", ["-c", command], environment: ["TMPDIR": tmp])
        #expect(child.wait(timeout: 120) == 1, "output: \(child.standardOutput)")
        let log = child.standardOutput
        let table = try #require(log.range(of: "total "))
        let gate = try #require(log.range(of: "FAIL  tps > 1e9"))
        let verdict = try #require(log.range(of: "lockstorm: checks failed"))
        #expect(table.lowerBound < gate.lowerBound && gate.lowerBound < verdict.lowerBound, "log: \(log)")
    }

    @Test("a baseline marked INCOMPLETE (its results were not all written) is refused before any server starts")
    func incompleteBaselineIsRefused() throws {
        let tmp = try scratch()
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let baseline = tmp + "/results/transfers-ordered-20261203T120000Z"
        try FileManager.default.createDirectory(atPath: baseline, withIntermediateDirectories: true)
        try "workload,variant\n".write(toFile: baseline + "/summary.csv", atomically: true, encoding: .utf8)
        try "lockstorm could not write every result file of this run: No space left on device\n".write(toFile: baseline + "/INCOMPLETE", atomically: true, encoding: .utf8)
        let transfers = Self.root.appendingPathComponent("workloads/transfers.yaml").path
        let arguments = ["run", transfers, "--variant", "ordered", "-c", "2", "-T", "1", "--baseline", tmp + "/results", "--dsn", "postgresql://nobody@127.0.0.1:1/none"]
        let (status, child) = try run(arguments, in: tmp, timeout: 60)
        #expect(status == 2, "stderr: \(child.standardError)")
        #expect(child.standardError.contains("is marked INCOMPLETE: its results were not all written, so it cannot be a baseline"), "stderr: \(child.standardError)")
        // Refused at the gate, before connecting to the (unreachable) server.
        #expect(!child.standardError.contains("127.0.0.1"), "stderr: \(child.standardError)")
    }
}

/// Mistyped commands and sweep names, before any server starts.
@Suite("lockstorm's answers to a mistyped command or sweep (the binary)")
struct MistypedCommandTests {
    @Test("lockstorm rn … suggests run and lists the commands (exit 2)")
    func unknownCommandSuggestsRun() throws {
        let child = try ChildProcess(LockstormBinary.path, ["rn", "workloads/transfers.yaml"])
        #expect(child.wait(timeout: 30) == 2)
        #expect(child.standardError.hasPrefix("lockstorm: unknown command 'rn'; did you mean 'run'?\n"))
        #expect(child.standardError.contains("commands: run, compare, validate"))
    }

    @Test("compare --sweep client=1,4 names clients among the choices and suggests it")
    func sweepNameIncludesClients() throws {
        let transfers = TestServer.repositoryRoot.appendingPathComponent("workloads/transfers.yaml").path
        let child = try ChildProcess(LockstormBinary.path, ["compare", transfers, "--sweep", "client=1,4", "--dsn", "postgresql://nobody@127.0.0.1:1/none"])
        #expect(child.wait(timeout: 30) == 2)
        #expect(child.standardError.contains("--sweep client: not clients and no such parameter; did you mean 'clients'?"), "stderr: \(child.standardError)")
        #expect(child.standardError.contains("(--sweep takes one of: clients, accounts"))
    }
}
