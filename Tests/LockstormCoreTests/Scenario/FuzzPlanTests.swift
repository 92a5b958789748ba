import Testing
@testable import LockstormCore

@Suite("Fuzz plan: seeded decisions, hot set, added pauses, reproductions")
struct FuzzPlanTests {
    func unorderedPlan() throws -> (Workload, RunPlan) {
        let workload = try WorkloadParser.parse(try transfersWorkloadText(), file: "transfers.yaml")
        return (workload, try workload.plan(variant: "unordered", overrides: [], file: "transfers.yaml"))
    }

    @Test("the same seed and round give the same decisions; decisions stay in their documented ranges")
    func decisionsAreSeeded() {
        for index in 0..<50 {
            let round = FuzzRound(seed: 7, index: index)
            #expect(round == FuzzRound(seed: 7, index: index))
            #expect(FuzzRound.clientChoices.contains(round.clients))
            #expect(FuzzRound.hotSetChoices.contains(round.hotSetSize))
            #expect(FuzzRound.pauseChoices.contains(round.pauseNanoseconds))
        }
        let rounds = (0..<20).map { FuzzRound(seed: 7, index: $0) }
        #expect(Set(rounds.map(\.loadSeed)).count == 20)
        #expect(rounds != (0..<20).map { FuzzRound(seed: 8, index: $0) })
    }

    @Test("integer draws narrow to the hot set (never below what != needs); pauses go between SQL steps and map back")
    func perturbation() throws {
        let (_, plan) = try unorderedPlan()
        let round = FuzzRound(index: 0, clients: 2, hotSetSize: 2, pauseNanoseconds: 1_000_000, loadSeed: 1)
        let perturbed = PerturbedPlan(plan, round: round)
        let transfer = perturbed.plan.transactions[0]
        let draws = transfer.draws.map(\.distribution)
        // src: uniform(1, 100) → (1, 2); dst != src keeps 2 values; amount (1, 50) → (1, 2).
        #expect(draws == [.uniform(1, 2), .uniform(1, 2), .uniform(1, 2)])
        // UPDATE, pause(0-1ms) as written, UPDATE: one pause added after the first UPDATE.
        #expect(transfer.steps.count == 4)
        #expect(perturbed.originalSteps[0] == [0, nil, 1, 2])
        #expect(transfer.stepParameterNames.count == 4)
        let none = PerturbedPlan(plan, round: FuzzRound(index: 0, clients: 2, hotSetSize: 16, pauseNanoseconds: 0, loadSeed: 1))
        #expect(none.originalSteps[0] == [0, 1, 2])
        #expect(none.plan.transactions[0].draws.map(\.distribution)[2] == .uniform(1, 16))
    }

    @Test("a cycle's steps map back to the plan's, and become a reproduction that parses into a replayable order")
    func reproductionRoundTrip() throws {
        let (workload, plan) = try unorderedPlan()
        let perturbed = PerturbedPlan(plan, round: FuzzRound(index: 0, clients: 2, hotSetSize: 4, pauseNanoseconds: 1_000_000, loadSeed: 1))
        let update1 = "UPDATE accounts SET balance = balance - $1 WHERE id = $2"
        let update2 = "UPDATE accounts SET balance = balance + $1 WHERE id = $2"
        func participant(_ pid: Int32, src: String, dst: String) -> CycleParticipant {
            var participant = CycleParticipant(pid: pid, template: "transfer", step: 3, sql: update2, parameters: ["5", dst], parameterNames: ["amount", "dst"], waitsFor: "ShareLock on transaction 9")
            participant.transaction = [
                .init(step: nil, sql: "BEGIN ISOLATION LEVEL READ COMMITTED", parameters: []),
                .init(step: 0, sql: update1, parameters: ["5", src]),
                .init(step: 3, sql: update2, parameters: ["5", dst]),
            ]
            return participant
        }
        let signature = DeadlockSignature(participants: [
            .init(template: "transfer", step: 3, lockKind: "transaction", mode: "ShareLock"),
            .init(template: "transfer", step: 3, lockKind: "transaction", mode: "ShareLock"),
        ])
        let seen = CycleRecord(signature: signature, count: 1, firstSeenSeconds: 0.1, sampleDetail: "", sampleParticipants: [participant(10, src: "1", dst: "2"), participant(11, src: "2", dst: "1")])
        let record = perturbed.original(seen)
        #expect(record.signature.text == "transfer:3/ShareLock/transaction -> transfer:3/ShareLock/transaction")
        #expect(record.sampleParticipants[0].transaction.map(\.step) == [nil, 0, 2])

        let reproduction = try Reproduction.from(record, plan: plan, workload: workload, deadlockTimeoutMilliseconds: 20)
        let scenario = try ScenarioParser.parse(reproduction.yaml, file: "repro.yaml")
        #expect(scenario.sessions.map(\.name) == ["transfer_1", "transfer_2"])
        #expect(scenario.sessions[0].template == "transfer")
        #expect(scenario.sessions[0].steps.map(\.templateStep) == [0, 2, nil])
        #expect(scenario.sessions[0].steps[0].statement == BoundStatement(sql: update1, parameters: ["5", "1"]))
        #expect(scenario.sessions[1].steps[1].statement == BoundStatement(sql: update2, parameters: ["5", "1"]))
        #expect(scenario.sessions[0].begin == "BEGIN ISOLATION LEVEL READ COMMITTED")
        // Both first steps, then both waiting steps, then the COMMITs.
        #expect(scenario.order == Interleaving([0, 1, 0, 1, 0, 1]))
        #expect(scenario.expectation == ScenarioExpectation(outcome: .deadlock, signature: record.signature.text))
        #expect(scenario.setup.count == 2)
        #expect(scenario.deadlockTimeoutMilliseconds == 20)
    }

    @Test("$n placeholders turn back into :names outside quotes; quoting survives a round trip")
    func restoringNames() {
        #expect(Reproduction.restoringNames("SELECT $1, '$2', $2::int -- $1", names: ["a", "b"]) == "SELECT :a, '$2', :b::int -- $1")
        #expect(Reproduction.restoringNames("SELECT $3", names: ["a"]) == "SELECT $3")
        #expect(Reproduction.quoted("a \"b\"\n\\c") == "\"a \\\"b\\\"\\n\\\\c\"")
    }

    @Test("a participant outside lockstorm's sessions or without its transaction cannot be reproduced")
    func unavailable() throws {
        let (workload, plan) = try unorderedPlan()
        let signature = DeadlockSignature(participants: [.init(template: nil, step: nil, lockKind: "transaction", mode: "ShareLock")])
        let outside = CycleRecord(signature: signature, count: 1, firstSeenSeconds: 0, sampleDetail: "", sampleParticipants: [
            CycleParticipant(pid: 5, template: nil, step: nil, sql: nil, parameters: [], waitsFor: "x"),
        ])
        #expect(throws: Reproduction.Unavailable.self) { try Reproduction.from(outside, plan: plan, workload: workload, deadlockTimeoutMilliseconds: nil) }
        let unrecorded = CycleRecord(signature: signature, count: 1, firstSeenSeconds: 0, sampleDetail: "", sampleParticipants: [
            CycleParticipant(pid: 5, template: "transfer", step: 2, sql: nil, parameters: [], waitsFor: "x"),
        ])
        #expect(throws: Reproduction.Unavailable.self) { try Reproduction.from(unrecorded, plan: plan, workload: workload, deadlockTimeoutMilliseconds: nil) }
    }
}

@Suite("Fuzz hot set over skewed draws")
struct FuzzHotSetTests {
    @Test("zipf and hotspot draws narrow to their lowest values; choice and small ranges stay")
    func skewedDraws() throws {
        let text = """
            name: skew
            params: { n: 1000 }
            transactions:
              t:
                let:
                  a: zipf(1, :n, 1.1)
                  b: hotspot(1, :n, 0.01, 0.9)
                  c: choice(5, 6, 7)
                  d: uniform(1, 3)
                steps:
                  - SELECT :a, :b, :c, :d
            """
        let plan = try WorkloadParser.parse(text, file: "skew.yaml").plan(variant: nil, overrides: [], file: "skew.yaml")
        let perturbed = PerturbedPlan(plan, round: FuzzRound(index: 0, clients: 2, hotSetSize: 4, pauseNanoseconds: 0, loadSeed: 1))
        let draws = perturbed.plan.transactions[0].draws.map(\.distribution)
        #expect(draws[0] == .uniform(1, 4))
        #expect(draws[1] == .uniform(1, 4))
        #expect(draws[2] == plan.transactions[0].draws[2].distribution)
        #expect(draws[3] == .uniform(1, 3))
    }
}

@Suite("Reproduction order")
struct ReproductionOrderTests {
    @Test("with send times, the participants' steps are written in the order they were sent; without, the closing order")
    func recordedOrder() throws {
        func participant(_ pid: Int32, sends: [(Int, UInt64)]) -> CycleParticipant {
            var participant = CycleParticipant(pid: pid, template: "t", step: sends.last?.0, sql: "SELECT 1", parameters: [], waitsFor: "x")
            participant.transaction = [.init(step: nil, sql: "BEGIN", parameters: [], sentAt: 1)]
                + sends.map { .init(step: $0.0, sql: "SELECT 1", parameters: [], sentAt: $0.1) }
            return participant
        }
        let signature = DeadlockSignature(participants: [.init(template: "t", step: 1, lockKind: "transaction", mode: "ShareLock")])
        let timed = CycleRecord(signature: signature, count: 1, firstSeenSeconds: 0, sampleDetail: "", sampleParticipants: [
            participant(1, sends: [(0, 10), (1, 40)]), participant(2, sends: [(0, 20), (1, 30)]),
        ])
        #expect(Reproduction.recordedOrder(timed) == [0, 1, 1, 0])
        let untimed = CycleRecord(signature: signature, count: 1, firstSeenSeconds: 0, sampleDetail: "", sampleParticipants: [
            participant(1, sends: [(0, 0), (1, 40)]), participant(2, sends: [(0, 20), (1, 30)]),
        ])
        #expect(Reproduction.recordedOrder(untimed) == nil)
    }
}
