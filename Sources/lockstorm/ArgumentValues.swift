import ArgumentParser
import LockstormApp
import LockstormCore

// The application layer does not depend on the argument parser: its value
// types are made parseable here, where the flags are declared. Each parses
// once, when the arguments are; a value it refuses is a usage error (exit 2)
// that names the flag and shows its help.

extension TimeSpan: ExpressibleByArgument {
    public init?(argument: String) { self.init(parsing: argument) }

    public var defaultValueDescription: String { text }
}

extension DeadlockTimeout: ExpressibleByArgument {
    public init?(argument: String) { self.init(parsing: argument) }
}

// `-M bogus`: "The value 'bogus' is invalid for '-M <mode>'. Please provide one of 'simple', 'extended' and 'prepared'."
extension ProtocolMode: ExpressibleByArgument {}

// The `transform:` of the flags that say what is allowed when they refuse a
// value: "The value '0ms' is invalid for '--deadlock-timeout <duration>':
// deadlock_timeout must be at least 1ms, …".
extension TimeSpan {
    static func argument(_ text: String) throws -> TimeSpan {
        do {
            return try parse(text)
        } catch {
            throw ValidationError(error.description)
        }
    }
}

extension DeadlockTimeout {
    static func argument(_ text: String) throws -> DeadlockTimeout {
        do {
            return try parse(text)
        } catch {
            throw ValidationError(error.description)
        }
    }
}

extension ParameterOverride: ExpressibleByArgument {
    public init?(argument: String) { self.init(parsing: argument) }
}

extension RunRequest.SummaryFormat: ExpressibleByArgument {}
