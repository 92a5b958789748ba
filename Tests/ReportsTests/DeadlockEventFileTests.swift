import LockstormCore
import Reports
import Testing

@Suite struct DeadlockEventFileTests {
    @Test func oneRowPerParticipantWithTheLockInPostgresWordsAndOneBasedSteps() throws {
        let report = try #require(DeadlockReport.parse(detail: """
            Process 11 waits for ShareLock on transaction 726; blocked by process 12.
            Process 12 waits for ExclusiveLock on tuple (0,3) of relation 16384 of database 5; blocked by process 11.
            """, context: nil))
        var first = CycleParticipant(pid: 11, template: "transfer", step: 2, sql: "UPDATE a SET b = b + $1 WHERE id = $2", parameters: ["4", nil], parameterNames: ["amount", "dst"], waitsFor: "")
        first.certainty = .serverLog
        var second = CycleParticipant(pid: 12, template: "transfer", step: nil, sql: nil, parameters: [], waitsFor: "")
        second.certainty = .uncertain
        let event = DeadlockEventRecord(seconds: 1.5, victimPID: 11, report: report, participants: [first, second], clientSide: [], logFound: true)
        let rows = DeadlockEventFile.rows([event])
        #expect(rows == [
            ["1", "1.500", "11", "1", "11", "ShareLock on transaction 726", "transfer", "3", "server-log", "UPDATE a SET b = b + $1 WHERE id = $2", "amount=4; dst=NULL"],
            ["1", "1.500", "11", "2", "12", "ExclusiveLock on tuple (0,3) of relation 16384 of database 5", "transfer", "", "uncertain", "", ""],
        ])
        #expect(rows.allSatisfy { $0.count == DeadlockEventFile.columns.count })
        #expect(DeadlockEventFile.document([event]).hasPrefix("event,time_s,victim_pid,position,pid,waits_for,template,step,certainty,sql,values\n"))
    }
}
