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

        @Option(name: .customLong("max-connections"), parsing: .unconditional, help: "max_connections of the server, at least 1.")
        var maxConnections = 200

        @Option(
            name: .customLong("deadlock-timeout"), parsing: .unconditional,
            help: ArgumentHelp("deadlock_timeout, at least 1ms, e.g. 100ms.", valueName: "duration"), transform: DeadlockTimeout.argument
        )
        var deadlockTimeout: DeadlockTimeout?

        @Option(name: .customLong("pg-bin"), help: ArgumentHelp(
            "Directory of the PostgreSQL server programs (initdb, pg_ctl, postgres) to start (default: $LOCKSTORM_PG_BINDIR, else pg_config --bindir, else the newest /usr/lib/postgresql/<version>/bin).",
            valueName: "dir"
        ))
        var pgBin: String?

        func validate() throws {
            if maxConnections < 1 { throw ValidationError("--max-connections is \(maxConnections): give at least 1") }
            if let pgBin, let problem = DatabaseTarget.problem(withPgBin: pgBin) { throw ValidationError(problem) }
        }

        func run() throws {
            try ServerControl().start(maxConnections: maxConnections, deadlockTimeout: deadlockTimeout, pgBin: pgBin)
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
