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
        subcommands: [RunCommand.self, CompareCommand.self, ValidateCommand.self, ListCommand.self, ServerCommand.self, ReportCommand.self, ExploreCommand.self, ReplayCommand.self, FuzzCommand.self]
    )

    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
            Session.yieldToExitInProgress()
        } catch let failure as Failure {
            Session.yieldToExitInProgress()
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
