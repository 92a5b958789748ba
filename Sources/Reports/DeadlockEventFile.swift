import LockstormCore

/// `deadlock-events.csv`: every deadlock of the run one by one (the first
/// `LoadOptions.deadlockEventLimit`), one row per participant, for checking
/// lockstorm's attribution against the server's own reports
/// (`scripts/check-attribution.py`).
///
/// Version 1 of the schema: `event, time_s, victim_pid, position, pid,
/// waits_for, template, step, certainty, sql, values`. `position` is the
/// participant's place in the DETAIL (1: the victim, who ran the check);
/// `waits_for` is the lock in PostgreSQL's words, database included
/// (`ShareLock on transaction 726`), so an event's rows give back its DETAIL;
/// `step` is 1-based and empty when unknown; `certainty` is `server-log`,
/// `inferred` or `uncertain`; `values` the bound values as `name=value`
/// joined by `; `.
public enum DeadlockEventFile {
    public static let name = "deadlock-events.csv"

    public static let columns = [
        "event", "time_s", "victim_pid", "position", "pid", "waits_for", "template", "step", "certainty", "sql", "values",
    ]

    public static func rows(_ events: [DeadlockEventRecord]) -> [[String]] {
        var rows: [[String]] = []
        for (number, event) in events.enumerated() {
            for (position, participant) in event.participants.enumerated() {
                let edge = position < event.report.edges.count ? event.report.edges[position] : nil
                let values = participant.parameters.enumerated().map { index, value in
                    let text = value ?? "NULL"
                    return index < participant.parameterNames.count ? "\(participant.parameterNames[index])=\(text)" : text
                }
                rows.append([
                    String(number + 1), Format.fixed(event.seconds, digits: 3), String(event.victimPID), String(position + 1), String(participant.pid),
                    edge.map { "\($0.mode) on \($0.lock.postgresText)" } ?? participant.waitsFor,
                    participant.template ?? "", participant.step.map { String($0 + 1) } ?? "", participant.certainty.rawValue,
                    participant.sql ?? "", values.joined(separator: "; "),
                ])
            }
        }
        return rows
    }

    public static func document(_ events: [DeadlockEventRecord]) -> String {
        CSV.document(header: columns, rows: rows(events))
    }
}
