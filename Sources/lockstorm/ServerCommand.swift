import ArgumentParser
import LockstormApp

struct ServerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server",
        abstract: "A throwaway local PostgreSQL that stays up between runs.",
        subcommands: [Start.self, Status.self, Stop.self]
    )

    struct Start: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start a server and print its DATABASE_URL.")

        @Option(name: .customLong("max-connections"), help: "max_connections of the server.")
        var maxConnections = 200

        @Option(name: .customLong("deadlock-timeout"), help: ArgumentHelp("deadlock_timeout, e.g. 100ms.", valueName: "duration"))
        var deadlockTimeout: DeadlockTimeout?

        func run() throws {
            try ServerControl().start(maxConnections: maxConnections, deadlockTimeout: deadlockTimeout)
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Say whether the server is running, and its DSN.")

        func run() throws {
            try ServerControl().status()
        }
    }

    struct Stop: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop the server and delete its directory.")

        func run() throws {
            try ServerControl().stop()
        }
    }
}
