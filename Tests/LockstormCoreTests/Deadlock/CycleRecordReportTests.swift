import Testing
@testable import LockstormCore

/// `CycleRecord(report:…)`: a deadlock's participants and signature from the
/// victim's report and what lockstorm knew of each session.
@Suite struct CycleRecordReportTests {
    static let yaml = """
        name: t
        transactions:
          transfer:
            let:
              src: uniform(1, 10)
              dst: uniform(1, 10) != src
              amount: uniform(1, 5)
            steps:
              - UPDATE accounts SET balance = balance - :amount WHERE id = :src
              - UPDATE accounts SET balance = balance + :amount WHERE id = :dst
        """

    @Test func everyPIDBecomesAParticipantWithItsStepValuesAndAttemptAndTheSignatureNamesThem() throws {
        let plan = try makePlan(Self.yaml)
        let sample = DeadlockSamples.tupleLock
        let report = try #require(DeadlockReport.parse(detail: sample.detail, context: sample.context))
        let begin = CycleParticipant.Statement(step: nil, sql: "BEGIN", parameters: [], sentAt: 1)
        let debit = CycleParticipant.Statement(step: 0, sql: "UPDATE accounts SET balance = balance - $1 WHERE id = $2", parameters: ["4", "7"], sentAt: 2)
        let credit = CycleParticipant.Statement(step: 1, sql: "UPDATE accounts SET balance = balance + $1 WHERE id = $2", parameters: ["3", "9"], sentAt: 5)
        // 24389 and 24390 are lockstorm's; 24388 is an outside session.
        let sessions: [Int32: CycleSession] = [
            24389: CycleSession(transaction: 0, statement: debit, attempt: [begin, debit]),
            24390: CycleSession(transaction: 0, statement: credit, attempt: []),
        ]
        var asked: [Int32] = []
        let record = CycleRecord(report: report, detail: sample.detail, plan: plan, firstSeenSeconds: 1.5) { pid in
            asked.append(pid)
            return sessions[pid]
        }
        #expect(asked == [24389, 24390, 24388])
        #expect(record.count == 1)
        #expect(record.firstSeenSeconds == 1.5)
        #expect(record.sampleDetail == sample.detail)
        let participants = record.sampleParticipants
        #expect(participants.map(\.pid) == [24389, 24390, 24388])
        #expect(participants.map(\.template) == ["transfer", "transfer", nil])
        #expect(participants.map(\.step) == [0, 1, nil])
        #expect(participants.map(\.sql) == [debit.sql, credit.sql, nil])
        #expect(participants.map(\.parameters) == [["4", "7"], ["3", "9"], []])
        #expect(participants.map(\.parameterNames) == [["amount", "src"], ["amount", "dst"], []])
        #expect(participants.map(\.transaction) == [[begin, debit], [], []])
        #expect(participants.map(\.waitsFor) == [
            "ShareLock on transaction 733", "ExclusiveLock on row (0,3) of relation 16384", "ShareLock on transaction 732",
        ])
        #expect(participants[0].label == "transfer step 1 (amount=4, src=7)")
        let expected = DeadlockSignature(report: report) { pid in
            switch pid {
            case 24389: (template: "transfer", step: 0)
            case 24390: (template: "transfer", step: 1)
            default: nil
            }
        }
        #expect(record.signature == expected)
        #expect(record.signature.participants.compactMap(\.template) == ["transfer", "transfer"])
    }
}
