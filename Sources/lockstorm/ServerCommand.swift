import ArgumentParser
import Engine
import Foundation

struct ServerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server",
        abstract: "A throwaway local PostgreSQL that stays up between runs.",
        subcommands: [Start.self, Status.self, Stop.self]
    )

    /// Where the running server's directory is remembered.
    static var stateFile: URL {
        let environment = ProcessInfo.processInfo.environment
        let base = environment["LOCKSTORM_STATE_DIR"].map { URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: environment["HOME"] ?? NSTemporaryDirectory()).appendingPathComponent(".lockstorm")
        return base.appendingPathComponent("server")
    }

    static func recordedDirectory() -> String? {
        guard let text = try? String(contentsOf: stateFile, encoding: .utf8) else { return nil }
        let directory = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return directory.isEmpty ? nil : directory
    }

    struct Start: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start a server and print its DATABASE_URL.")

        @Option(name: .customLong("max-connections"), help: "max_connections of the server.")
        var maxConnections = 200

        @Option(name: .customLong("deadlock-timeout"), help: ArgumentHelp("deadlock_timeout, e.g. 100ms.", valueName: "duration"))
        var deadlockTimeout: String?

        func run() throws {
            if let directory = ServerCommand.recordedDirectory(), FileManager.default.fileExists(atPath: directory) {
                throw Failure(.usage, "lockstorm: a server is already running in \(directory); run 'lockstorm server stop' first")
            }
            // Ctrl-C while initdb or pg_ctl run: the half-made server is removed.
            let trap = SignalTrap(stop: StopSignal()) { _ in
                Console.note("interrupted: removing the half-started server")
                CleanupRegistry.shared.runAll()
                Foundation.exit(ExitStatus.interrupted.rawValue)
            }
            defer { withExtendedLifetime(trap) {} }
            let server: EmbeddedServer
            do {
                server = try EmbeddedServer.start(EmbeddedServerOptions(
                    maxConnections: maxConnections, deadlockTimeoutMilliseconds: deadlockTimeout.flatMap(Durations.parseMilliseconds)))
            } catch {
                throw Failure(.runError, "lockstorm: cannot start the server: \(error)")
            }
            do {
                try FileManager.default.createDirectory(at: ServerCommand.stateFile.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data((server.directory + "\n").utf8).write(to: ServerCommand.stateFile)
            } catch {
                server.stop()
                throw Failure(.runError, "lockstorm: cannot record the server in \(ServerCommand.stateFile.path): \(error.localizedDescription)")
            }
            server.detach()
            print("started PostgreSQL in \(server.directory) (Unix socket only)")
            print("DSN: \(server.dsn)")
            print("export DATABASE_URL='\(server.dsn.raw)'")
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Say whether the server is running, and its DSN.")

        func run() throws {
            guard let directory = ServerCommand.recordedDirectory() else {
                print("no lockstorm server is running")
                throw Failure(.checksFailed, "")
            }
            let server = try EmbeddedServer.attach(directory: directory)
            if server.isRunning {
                print("running in \(directory)")
                print("export DATABASE_URL='\(server.dsn.raw)'")
            } else {
                print("not running (stale record of \(directory); 'lockstorm server stop' clears it)")
                throw Failure(.checksFailed, "")
            }
        }
    }

    struct Stop: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop the server and delete its directory.")

        func run() throws {
            guard let directory = ServerCommand.recordedDirectory() else {
                print("no lockstorm server is running")
                return
            }
            let server = try EmbeddedServer.attach(directory: directory)
            server.terminate()
            try? FileManager.default.removeItem(at: ServerCommand.stateFile)
            print("stopped and removed \(directory)")
        }
    }
}
