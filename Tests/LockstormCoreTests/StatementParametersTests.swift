import Testing
@testable import LockstormCore

/// `StatementParameters`: a step's values read from shared sources and
/// variable texts instead of an array built per statement.
@Suite struct StatementParametersTests {
    @Test func sourcesReadConstantsVariablesAndTheClientNumber() {
        let parameters = StatementParameters(
            sources: [.variable(1), .constant("x"), .constant(nil), .clientID, .variable(0)], variableTexts: ["10", nil], clientID: 7
        )
        #expect(parameters.count == 5)
        #expect(Array(parameters) == [nil, "x", nil, "7", "10"])
        #expect(parameters == [nil, "x", nil, "7", "10"])
        #expect(parameters != [nil, "x", nil, "7"])
        #expect(parameters != [nil, "x", nil, "7", "11"])
    }

    @Test func equalValuesAreEqualAndHashAlikeWhateverTheirForm() {
        let fromSources = StatementParameters(sources: [.variable(0), .constant("b")], variableTexts: ["a"], clientID: 0)
        let direct = StatementParameters(["a", "b"])
        #expect(fromSources == direct)
        #expect(Set([fromSources, direct]).count == 1)
        let empty: StatementParameters = []
        #expect(empty.isEmpty)
        #expect(empty == StatementParameters(sources: [], variableTexts: ["unused"], clientID: 3))
    }

    /// The session board keeps a step's parameters as its plan sources plus
    /// the variable texts: only when rebuilding them from those gives the
    /// same values.
    @Test func readsTheSourcesOnlyForTheSameClientAndSources() throws {
        let sources: [ParameterSource] = [.variable(0), .clientID]
        let parameters = StatementParameters(sources: sources, variableTexts: ["a"], clientID: 4)
        #expect(parameters.reads(sources, clientID: 4))
        // Equal sources in another array are the same sources.
        #expect(parameters.reads([.variable(0)] + [.clientID], clientID: 4))
        #expect(!parameters.reads(sources, clientID: 5))
        #expect(!parameters.reads([.variable(0)], clientID: 4))
        #expect(!parameters.reads([.variable(0), .constant("4")], clientID: 4))
        #expect(!StatementParameters(["a", "4"]).reads(sources, clientID: 4))
        let texts = try #require(parameters.variableTexts)
        #expect(StatementParameters(sources: sources, variables: texts, clientID: 4) == parameters)
        #expect(parameters.variableTextsIdentity == ObjectIdentifier(texts))
        #expect(StatementParameters(["a"]).variableTexts == nil && StatementParameters(["a"]).variableTextsIdentity == nil)
    }

    /// Deadlock reports show what a statement was sent with: a statement kept
    /// (as the session board keeps it) must not change when the client draws
    /// new values or captures a column afterwards.
    @Test func aStatementKeepsItsValuesWhenTheClientMovesOn() throws {
        let plan = try makePlan("""
            name: t
            transactions:
              tx:
                let:
                  a: uniform(1, 1000000)
                steps:
                  - sql: SELECT v FROM t WHERE id = :a
                    into: b
                  - UPDATE t SET x = :b WHERE id = :a
            """)
        var machine = ClientMachine(plan: plan, clientIndex: 0, seed: 3, transactionLimit: 3)
        var stats = RunStats(transactionCount: 1)
        var kept: [(action: ClientMachine.Action, values: [String?])] = []
        var action = machine.start(now: 0, stats: &stats)
        var now: UInt64 = 0
        while case .send(let sql, let parameters) = action {
            kept.append((action, Array(parameters)))
            now += 1
            let row = sql.hasPrefix("SELECT v") ? StepResult(rowCount: 1, firstRow: [.int(Int64(now))], firstRowText: [String(now)]) : StepResult(rowCount: 1)
            action = machine.statementSucceeded(now: now, stats: &stats, result: row)
        }
        #expect(action == .stop)
        let steps = kept.filter { if case .send(let sql, _) = $0.action { sql.hasPrefix("SELECT v") || sql.hasPrefix("UPDATE") } else { false } }
        #expect(steps.count == 6)
        // Three attempts drew three values (one in a million to collide), and each UPDATE saw its own capture.
        #expect(Set(steps.map { $0.values.last }).count == 3)
        for (action, values) in kept {
            guard case .send(_, let parameters) = action else { continue }
            #expect(Array(parameters) == values)
        }
    }

    /// The machine reuses an attempt's texts once nothing refers to them: a
    /// statement kept longer than the spare texts last (the last 40 sent,
    /// about 13 attempts here, where the session board keeps 16) still shows
    /// its own values when it is dropped, through many reuses.
    @Test func reusedTextsNeverChangeAStatementStillKept() throws {
        let plan = try makePlan("""
            name: t
            transactions:
              tx:
                let:
                  a: uniform(1, 1000000)
                  b: uniform(1, 1000000)
                steps:
                  - UPDATE t SET x = :a WHERE id = :b
            """)
        var machine = ClientMachine(plan: plan, clientIndex: 0, seed: 5, transactionLimit: 200)
        var stats = RunStats(transactionCount: 1)
        var kept: [(parameters: StatementParameters, values: [String?])] = []
        var steps: Set<[String?]> = []
        var action = machine.start(now: 0, stats: &stats)
        while case .send(_, let parameters) = action {
            kept.append((parameters, Array(parameters)))
            if !parameters.isEmpty { steps.insert(Array(parameters)) }
            if kept.count > 40 {
                let dropped = kept.removeFirst()
                #expect(Array(dropped.parameters) == dropped.values)
            }
            action = machine.statementSucceeded(now: 1, stats: &stats)
        }
        #expect(action == .stop)
        #expect(kept.allSatisfy { Array($0.parameters) == $0.values })
        // 200 attempts, each with its own draw (a collision is one in a million squared).
        #expect(steps.count == 200)
    }
}
