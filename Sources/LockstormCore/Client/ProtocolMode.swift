/// How the clients send their statements (`-M`, as pgbench's): what the
/// server parses and plans for each one.
///
/// - `simple`: a Query message with the SQL text (libpq `PQsendQuery`); the
///   server parses and plans it every time. It carries no bind parameters,
///   and lockstorm never splices values into SQL, so only workloads without
///   parameters can use it; it cannot be pipelined either, so BEGIN goes out
///   in a round trip of its own.
/// - `extended` (the default): Parse, Bind and Execute of the unnamed
///   statement (`PQsendQueryParams`); parsed and planned every time.
/// - `prepared`: every statement is parsed once per connection into a named
///   prepared statement (`PQsendPrepare`), then only bound and executed
///   (`PQsendQueryPrepared`); the server's plan cache applies.
public enum ProtocolMode: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case simple
    case extended
    case prepared

    public var description: String { rawValue }

    /// The name of the prepared statement with id `id` (`RunPlan.statementTexts`).
    public static func statementName(_ id: Int) -> String { "ls_\(id)" }

    /// Why `plan` cannot run under `simple`, naming the first statement that
    /// has bind parameters or the first pipelined transaction; `nil` when it can.
    /// `file` is the workload's path, for `file:line:col`.
    public static func simpleRefusal(_ plan: RunPlan, file: String) -> String? {
        let variant = plan.variantName.map { " (variant '\($0)')" } ?? ""
        for transaction in plan.transactions {
            let context = "transaction '\(transaction.name)'\(variant)"
            if transaction.pipeline {
                return "-M simple cannot send \(context): it has 'pipeline: true', and the simple protocol sends one statement per round trip; use -M extended or -M prepared, or drop 'pipeline'"
            }
            if let setting = transaction.settings.first {
                let name = setting.parameters.first.flatMap { $0 } ?? "a setting"
                return "-M simple cannot send \(context): its setting '\(name)' goes out as set_config with bind parameters, and lockstorm never splices values into SQL; use -M extended or -M prepared"
            }
            for (index, step) in transaction.steps.enumerated() {
                guard case .sql(_, let sources, _) = step, !sources.isEmpty else { continue }
                let names = index < transaction.stepParameterNames.count ? transaction.stepParameterNames[index] : []
                let location = index < transaction.stepLocations.count ? transaction.stepLocations[index] : .unknown
                let place = location == .unknown ? "" : "\(file):\(location.line):\(location.column): "
                let uses = names.isEmpty ? "bind parameters" : names.map { ":\($0)" }.joined(separator: ", ")
                return "\(place)-M simple cannot send step \(index + 1) of \(context): it uses \(uses), sent as bind parameters, and lockstorm never splices values into SQL; use -M extended or -M prepared"
            }
        }
        return nil
    }
}
