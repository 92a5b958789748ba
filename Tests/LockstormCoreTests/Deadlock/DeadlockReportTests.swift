import Testing
@testable import LockstormCore

@Suite struct DeadlockReportTests {
    // MARK: Real reports from PostgreSQL 15

    @Test(arguments: DeadlockSamples.all)
    func everyRealReportParsesIntoAClosedCycle(sample: DeadlockSamples.Sample) throws {
        let report = try #require(DeadlockReport.parse(detail: sample.detail, context: sample.context))
        #expect(report.isClosedCycle)
        #expect(report.unparsedLines.isEmpty)
        #expect(report.edges.count == sample.detail.split(separator: "\n").count)
        #expect(report.victim == report.edges.first?.waiter)
        for edge in report.edges {
            #expect(edge.lockMode != nil, "\(edge.mode) is one of the eight modes")
            if case .other = edge.lock { Issue.record("tag not recognised: \(edge.lock.postgresText)") }
        }
        // Each line comes back word for word, so nothing was misread.
        #expect(report.edges.map(\.postgresLine).joined(separator: "\n") == sample.detail)
        #expect((report.note == nil) == (sample.context == nil))
    }

    @Test func rowUpdateCycleHasBothTransactionsAndTheRow() throws {
        let sample = DeadlockSamples.rowUpdates
        let report = try #require(DeadlockReport.parse(detail: sample.detail, context: sample.context))
        #expect(report.edges == [
            DeadlockEdge(waiter: 24359, mode: "ShareLock", lock: .transaction(731), blocker: 24358),
            DeadlockEdge(waiter: 24358, mode: "ShareLock", lock: .transaction(730), blocker: 24359),
        ])
        #expect(report.cycle == [24359, 24358])
        #expect(report.victim == 24359)
        let note = try #require(report.note)
        #expect(note.operation == .updating)
        #expect(note.tuple == DeadlockNote.TupleID(block: 0, offset: 2))
        #expect(note.relation == "accounts")
        #expect(note.statement == nil)
        #expect(note.summary == #"while updating a row (0,2) of "accounts""#)
    }

    @Test func tupleLockAppearsInAThreeWayCycle() throws {
        let sample = DeadlockSamples.tupleLock
        let report = try #require(DeadlockReport.parse(detail: sample.detail, context: sample.context))
        #expect(report.cycle == [24389, 24390, 24388])
        #expect(report.edges.map(\.lock.kind) == ["transaction", "tuple", "transaction"])
        #expect(report.edges[1].mode == "ExclusiveLock")
        #expect(report.edges[1].lock == .tuple(block: 0, offset: 3, relation: 16384, database: 5))
        #expect(report.edges[1].lock.summary == "row (0,3) of relation 16384")
    }

    @Test func tableLockCycleNamesBothRelations() throws {
        let report = try #require(DeadlockReport.parse(detail: DeadlockSamples.tableLocks.detail, context: nil))
        #expect(report.edges.map(\.lock) == [.relation(16392, database: 5), .relation(16389, database: 5)])
        #expect(report.edges.map(\.lockMode) == [.accessExclusive, .exclusive])
        #expect(report.note == nil)
    }

    @Test func advisoryLockWithTwoIntKeysGivesThePair() throws {
        let report = try #require(DeadlockReport.parse(detail: DeadlockSamples.advisoryPair.detail, context: nil))
        #expect(report.edges[0].lock == .advisory(database: 5, key1: 3, key2: 4, field4: 2))
        #expect(report.edges.map(\.lock.advisoryKeys) == [.pair(3, 4), .pair(1, 2)])
        #expect(report.edges[1].lock.summary == "advisory lock (1, 2)")
    }

    @Test func advisoryLockWithABigintKeyJoinsItsHalves() throws {
        let report = try #require(DeadlockReport.parse(detail: DeadlockSamples.advisoryBigint.detail, context: nil))
        #expect(report.edges.map(\.lock.advisoryKeys) == [.single(-5_000_000_000), .single(42)])
        #expect(report.edges.map(\.mode) == ["ExclusiveLock", "ShareLock"])
        #expect(report.edges[1].lock.summary == "advisory lock 42")
    }

    @Test func threeSessionCycleKeepsItsOrder() throws {
        let report = try #require(DeadlockReport.parse(detail: DeadlockSamples.threeSessions.detail, context: nil))
        #expect(report.cycle == [24487, 24486, 24485])
        #expect(report.edges.map(\.blocker) == [24486, 24485, 24487])
        #expect(report.isClosedCycle)
    }

    @Test func virtualTransactionAndCatalogObjectTags() throws {
        let vxid = try #require(DeadlockReport.parse(detail: DeadlockSamples.virtualTransaction.detail, context: nil))
        #expect(vxid.edges[1].lock == .virtualTransaction(backend: 3, localTransaction: 29))
        #expect(vxid.edges[1].lock.kind == "virtualxid")
        #expect(vxid.edges[0].lockMode == .shareUpdateExclusive)
        let objects = try #require(DeadlockReport.parse(detail: DeadlockSamples.catalogObjects.detail, context: nil))
        #expect(objects.edges[0].lock == .object(16404, classID: 1255, database: 5))
        #expect(objects.edges[0].lock.summary == "object 16404 of catalog 1255")
    }

    @Test func contextOfRealReportsGivesTheOperation() throws {
        let cases: [(DeadlockSamples.Sample, DeadlockNote.Operation, String)] = [
            (DeadlockSamples.selectForUpdate, .locking, "jobs"),
            (DeadlockSamples.uniqueInsert, .insertingIndexTuple, "jobs_pkey"),
            (DeadlockSamples.threeSessions, .updating, "accounts"),
        ]
        for (sample, operation, relation) in cases {
            let note = try #require(DeadlockReport.parse(detail: sample.detail, context: sample.context)?.note)
            #expect(note.operation == operation, "\(sample.name)")
            #expect(note.relation == relation, "\(sample.name)")
        }
    }

    @Test func contextFromPLpgSQLGivesTheStatement() throws {
        let sample = DeadlockSamples.plpgsql
        let note = try #require(DeadlockReport.parse(detail: sample.detail, context: sample.context)?.note)
        #expect(note.operation == .updating)
        #expect(note.tuple == DeadlockNote.TupleID(block: 0, offset: 8))
        #expect(note.statement == "update accounts set balance = 1 where id = 8")
        #expect(note.text == sample.context)
    }

    @Test func serverLogDetailKeepsTheQueryLinesAsUnparsed() throws {
        let report = try #require(DeadlockReport.parse(detail: DeadlockSamples.serverLogDetail, context: nil))
        #expect(report.cycle == [24530, 24529])
        #expect(report.isClosedCycle)
        #expect(report.unparsedLines == [
            "Process 24530: do $$ begin update accounts set balance = 1 where id = 8; end $$;",
            "Process 24529: update accounts set balance = 1 where id = 7;",
        ])
    }

    // MARK: Every lock-tag form

    /// Forms that could not be provoked as a deadlock, in DescribeLockTag's exact wording.
    @Test(arguments: [
        ("extension of relation 16384 of database 5", LockTag.relationExtension(relation: 16384, database: 5), "extend"),
        ("page 3 of relation 16384 of database 5", .page(3, relation: 16384, database: 5), "page"),
        ("speculative token 7 of transaction 755", .speculativeToken(7, transaction: 755), "spectoken"),
        ("remote transaction 755 of subscription 16500 of database 5", .remoteTransaction(755, subscription: 16500, database: 5), "applytransaction"),
        ("pg_database.datfrozenxid of database 5", .databaseFrozenIDs(database: 5), "frozenid"),
        ("virtual transaction -1/0", .virtualTransaction(backend: -1, localTransaction: 0), "virtualxid"),
        ("transaction 4294967295", .transaction(4_294_967_295), "transaction"),
        ("tuple (4294967295,65535) of relation 4294967295 of database 4294967295",
         .tuple(block: .max, offset: .max, relation: .max, database: .max), "tuple"),
        ("relation 1262 of database 0", .relation(1262, database: 0), "relation"),
        ("object 1234 of class 1259 of database 5", .object(1234, classID: 1259, database: 5), "object"),
        ("advisory lock [5,0,42,1]", .advisory(database: 5, key1: 0, key2: 42, field4: 1), "advisory"),
        ("user lock [1,2,3]", .other("user lock [1,2,3]"), "other"),
        ("unrecognized locktag type 42", .other("unrecognized locktag type 42"), "other"),
    ])
    func lockTagForm(text: String, expected: LockTag, kind: String) {
        let tag = LockTag(postgresText: text)
        #expect(tag == expected)
        #expect(tag.kind == kind)
        #expect(tag.postgresText == text)
    }

    @Test(arguments: [
        "transaction 4294967296000000000000",
        "tuple (0,65536) of relation 16384 of database 5",
        "relation 4294967296 of database 5",
        "relation 16384 of database 5 ",
        " relation 16384 of database 5",
        "relation 16384",
        "relation -1 of database 5",
        "relation +1 of database 5",
        "advisory lock [5,0,42]",
        "advisory lock [5,0,42,1,7]",
        "virtual transaction 3/",
        "transaction ",
        "transaction 7\u{301}",
        "Transaktion 755",
        "",
    ])
    func lockTagOfNoKnownFormIsKeptWhole(text: String) {
        #expect(LockTag(postgresText: text) == .other(text))
    }

    @Test func advisoryKeysAreBitPatterns() {
        #expect(LockTag.advisory(database: 5, key1: 4_294_967_295, key2: 2_147_483_648, field4: 2).advisoryKeys == .pair(-1, .min))
        #expect(LockTag.advisory(database: 5, key1: 2_147_483_648, key2: 0, field4: 1).advisoryKeys == .single(.min))
        #expect(LockTag.advisory(database: 5, key1: 4_294_967_295, key2: 4_294_967_295, field4: 1).advisoryKeys == .single(-1))
        #expect(LockTag.advisory(database: 5, key1: 0, key2: 1, field4: 3).advisoryKeys == nil)
        #expect(LockTag.advisory(database: 5, key1: 0, key2: 1, field4: 3).summary == "advisory lock [5,0,1,3]")
        #expect(LockTag.transaction(1).advisoryKeys == nil)
    }

    @Test func lineWithAnUnknownTagStillParsesAsAnEdge() throws {
        let edge = try #require(DeadlockEdge(postgresLine: "Process 7 waits for ExclusiveLock on user lock [1,2,3]; blocked by process 8."))
        #expect(edge == DeadlockEdge(waiter: 7, mode: "ExclusiveLock", lock: .other("user lock [1,2,3]"), blocker: 8))
        let odd = try #require(DeadlockEdge(postgresLine: "Process 7 waits for SIReadLock on something; blocked by process 8; blocked by process 9."))
        #expect(odd.mode == "SIReadLock")
        #expect(odd.lockMode == nil)
        #expect(odd.lock == .other("something; blocked by process 8"))
        #expect(odd.blocker == 9)
    }

    @Test func lockModesAreOrderedByStrength() {
        #expect(LockMode.allCases.map(\.strength) == Array(1...8))
        #expect(LockMode.accessShare < .accessExclusive)
        #expect(LockMode(rawValue: "ShareRowExclusiveLock") == .shareRowExclusive)
    }

    // MARK: Context forms

    @Test(arguments: [
        (#"while updating tuple (0,1) in relation "accounts""#, DeadlockNote.Operation.updating),
        (#"while deleting tuple (0,1) in relation "accounts""#, .deleting),
        (#"while locking tuple (0,1) in relation "accounts""#, .locking),
        (#"while locking updated version (0,1) of tuple in relation "accounts""#, .lockingUpdatedVersion),
        (#"while inserting index tuple (0,1) in relation "accounts""#, .insertingIndexTuple),
        (#"while checking uniqueness of tuple (0,1) in relation "accounts""#, .checkingUniqueness),
        (#"while rechecking updated tuple (0,1) in relation "accounts""#, .recheckingUpdatedTuple),
        (#"while checking exclusion constraint on tuple (0,1) in relation "accounts""#, .checkingExclusionConstraint),
    ])
    func contextOperation(context: String, operation: DeadlockNote.Operation) throws {
        let note = try #require(DeadlockNote.parse(context))
        #expect(note.operation == operation)
        #expect(note.tuple == DeadlockNote.TupleID(block: 0, offset: 1))
        #expect(note.relation == "accounts")
    }

    @Test func relationNameMayHoldQuotes() throws {
        let note = try #require(DeadlockNote.parse(#"while locking tuple (3,7) in relation "my "odd" table""#))
        #expect(note.relation == #"my "odd" table"#)
        #expect(note.tuple?.description == "(3,7)")
    }

    @Test func multiLineStatementKeepsItsLinesAndQuotes() throws {
        let context = """
            while deleting tuple (0,5) in relation "jobs"
            SQL statement "DELETE FROM "Jobs"
              WHERE id = 5"
            PL/pgSQL function reap() line 4 at SQL statement
            """
        let note = try #require(DeadlockNote.parse(context))
        #expect(note.operation == .deleting)
        #expect(note.statement == "DELETE FROM \"Jobs\"\n  WHERE id = 5")
    }

    @Test func contextWithoutARowLineKeepsItsText() throws {
        let note = try #require(DeadlockNote.parse("SQL statement \"SELECT pg_advisory_xact_lock(1)\"\nPL/pgSQL function inline_code_block line 3 at PERFORM"))
        #expect(note.operation == nil)
        #expect(note.relation == nil)
        #expect(note.statement == "SELECT pg_advisory_xact_lock(1)")
        #expect(note.summary == "SQL statement \"SELECT pg_advisory_xact_lock(1)\"")
        #expect(DeadlockNote.parse("  \n\t ") == nil)
        #expect(DeadlockNote.parse("") == nil)
        #expect(DeadlockNote.parse("SQL statement \"never closed")?.statement == nil)
        #expect(DeadlockNote.parse("while updating tuple (0,1) in relation \"unterminated")?.operation == nil)
    }

    // MARK: Broken input

    @Test(arguments: [
        "",
        "   \n\n\t",
        "deadlock detected",
        "Process",
        "Process 21244 waits for ShareLock on transaction 755; blocked by proc",
        "Process 21244 waits for ShareLock on transaction 755; blocked by process 21245",
        "Process 21244 waits for ShareLock on transaction 755; blocked by process .",
        "Process x waits for ShareLock on transaction 755; blocked by process 21245.",
        "Process 21244 waits for  on transaction 755; blocked by process 21245.",
        "Process 21244 waits for ShareLock on ; blocked by process 21245.",
        "Process 21244 waits for ShareLock; blocked by process 21245.",
        "Process 99999999999 waits for ShareLock on transaction 755; blocked by process 21245.",
        "Process 21244 waits for ShareLock on transaction 755; blocked by process 2147483648.",
        "Process 21244 waits for ShareLock on transaction 755; blocked by process -3.",
        "Process -3 waits for ShareLock on transaction 755; blocked by process 21245.",
        "Process 2124\u{301}4 waits for ShareLock on transaction 755; blocked by process 21245.",
        "Prozess 21244 wartet auf ShareLock-Sperre auf Transaktion 755; blockiert von Prozess 21245.",
        "\u{0}\u{FFFD}🔒.",
        ".",
        "; blocked by process 1.",
    ])
    func textWithoutAnEdgeLineGivesNoReport(detail: String) {
        #expect(DeadlockReport.parse(detail: detail, context: "while updating tuple (0,1) in relation \"t\"") == nil)
    }

    @Test func unparsedLinesAreKeptInOrderBesideTheEdges() throws {
        let detail = """
            Process 1 waits for ShareLock on transaction 10; blocked by process 2.
            something unexpected
            Process 2 waits for ShareLock on transaction 11; blocked by proc
            """
        let report = try #require(DeadlockReport.parse(detail: detail, context: nil))
        #expect(report.edges.count == 1)
        #expect(report.unparsedLines == ["something unexpected", "Process 2 waits for ShareLock on transaction 11; blocked by proc"])
        #expect(report.cycle == [1])
        #expect(!report.isClosedCycle, "a lost line leaves the cycle open")
    }

    @Test func cycleWithAMissingMiddleLineIsNotClosed() throws {
        let lines = DeadlockSamples.threeSessions.detail.split(separator: "\n")
        let report = try #require(DeadlockReport.parse(detail: [lines[0], lines[2]].joined(separator: "\n"), context: nil))
        #expect(report.cycle == [24487, 24485])
        #expect(!report.isClosedCycle)
        #expect(!DeadlockReport(edges: []).isClosedCycle)
    }

    @Test func windowsLineEndsAndSurroundingBlankLinesAreTolerated() throws {
        let detail = "\r\n" + DeadlockSamples.rowUpdates.detail.split(separator: "\n").joined(separator: "\r\n") + "\r\n\r\n"
        let report = try #require(DeadlockReport.parse(detail: detail, context: nil))
        #expect(report.cycle == [24359, 24358])
        #expect(report.unparsedLines.isEmpty)
    }

    @Test func hugeInputParsesWithoutTrouble() throws {
        // 20,000 edges forming one cycle, then a 1 MB line of digits and a 1 MB garbage line.
        let count = 20_000
        var lines = (0..<count).map { "Process \($0 + 1) waits for ShareLock on transaction \($0); blocked by process \(($0 + 1) % count + 1)." }
        lines.append("Process " + String(repeating: "9", count: 1_000_000) + " waits for ShareLock on transaction 1; blocked by process 1.")
        lines.append(String(repeating: "x; blocked by process ", count: 50_000))
        let report = try #require(DeadlockReport.parse(detail: lines.joined(separator: "\n"), context: String(repeating: "while ", count: 100_000)))
        #expect(report.edges.count == count)
        #expect(report.isClosedCycle)
        #expect(report.unparsedLines.count == 2)
        #expect(report.note?.operation == nil)
        #expect(LockTag(postgresText: "transaction " + String(repeating: "1", count: 500_000)) == .other("transaction " + String(repeating: "1", count: 500_000)))
    }
}
