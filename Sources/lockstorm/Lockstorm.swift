import ArgumentParser
import Foundation
import LockstormApp

@main
struct Lockstorm: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lockstorm",
        abstract: "PostgreSQL concurrency load-tester and deadlock fuzzer.",
        discussion: """
            Runs declarative workloads over many concurrent connections and reports throughput, \
            latency percentiles and every failure by SQLSTATE (40P01 deadlocks, 55P03 lock not available, \
            40001 serialization failures, 57014 timeouts). Without --dsn or DATABASE_URL it starts a \
            throwaway PostgreSQL of its own.

            Exit codes: 0 success, 1 checks or invariants failed, 2 usage or workload error, \
            3 run error (cannot connect, setup failed, server lost), 130/143 interrupted.
            """,
        version: LockstormVersion.string,
        subcommands: [RunCommand.self, CompareCommand.self, ValidateCommand.self, ListCommand.self, ServerCommand.self, ReportCommand.self, MergeCommand.self, ExploreCommand.self, ReplayCommand.self, FuzzCommand.self]
    )

    /// For `lockstorm rn …`: what the command line's first word should have
    /// been (ArgumentParser alone says only "unexpected argument"); `nil`
    /// when it is a command, an option, or nothing.
    static func unknownCommandMessage(_ arguments: [String]) -> String? {
        guard let first = arguments.first, !first.hasPrefix("-") else { return nil }
        let names = configuration.subcommands.compactMap { $0.configuration.commandName } + ["help"]
        guard !names.contains(first) else { return nil }
        let hint = Failure.closest(to: first, in: names).map { "; did you mean '\($0)'?" } ?? ""
        return "lockstorm: unknown command '\(first)'\(hint)\n  commands: \(names.filter { $0 != "help" }.joined(separator: ", ")) (lockstorm --help)"
    }

    static func main() {
        if let message = unknownCommandMessage(Array(CommandLine.arguments.dropFirst())) {
            try? FileHandle.standardError.write(contentsOf: Data((message + "\n").utf8))
            Foundation.exit(ExitStatus.usage.rawValue)
        }
        do {
            var command = try parseAsRoot()
            try command.run()
            Session.yieldToExitInProgress()
        } catch let failure as Failure {
            Session.yieldToExitInProgress()
            // The summary on stdout first: in a CI log (2>&1) the verdict line follows it.
            StandardOutput.flush()
            if !failure.message.isEmpty { try? FileHandle.standardError.write(contentsOf: Data((failure.message + "\n").utf8)) }
            Foundation.exit(failure.status.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .success { exit(withError: error) }
            // Parse and validation errors are usage errors: exit 2, not 64.
            try? FileHandle.standardError.write(contentsOf: Data((fullMessage(for: error) + "\n").utf8))
            if code == .validationFailure { Foundation.exit(ExitStatus.usage.rawValue) }
            Foundation.exit(code.rawValue == 0 ? ExitStatus.runError.rawValue : code.rawValue)
        }
    }
}
