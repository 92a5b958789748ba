import Engine
import Foundation
import LockstormCore
import PostgresClient
import Testing
import TestSupport

/// Every variant of every shipped workload, run on a real server, shows the
/// outcome its file's header documents. (transfers.yaml's four variants are
/// covered by LoadRunnerTests.) One embedded server serves the whole suite;
/// each run drops and recreates its workload's tables.
@Suite(
    "Shipped workloads show their documented outcomes", .serialized, .sharedServer,
    .disabled(if: TestServer.skipped, "LOCKSTORM_SKIP_DB_TESTS=1")
)
struct ShippedWorkloadTests {
    // MARK: queue.yaml

    /// 300 jobs, 8 workers; the run ends when the queue is drained (60 s is only a cap).
    private func queue(_ variant: String) throws -> RunSummary {
        try run("queue.yaml", variant, ["jobs": 300], clients: 8, seconds: 60)
    }

    @Test("queue skip-locked: each job processed exactly once, no 55P03, nothing fails")
    func queueSkipLocked() throws {
        let summary = try queue("skip-locked")
        #expect(summary.partial == false, "the workers did not drain the queue: \(describe(summary))")
        expectAllPass(summary)
        #expect(summary.invariants.count == 3)
        #expect(summary.stats.total.count(.lockNotAvailable) == 0, "\(describe(summary))")
        #expect(summary.stats.total.failed == 0, "\(describe(summary))")
        // Each job is claimed by one committed transaction; each worker's last one finds nothing and stops.
        #expect(stats(summary, "work").committed >= 300, "\(describe(summary))")
    }

    @Test("queue nowait: many 55P03 on the oldest job, each job still processed exactly once")
    func queueNowait() throws {
        let summary = try queue("nowait")
        #expect(summary.partial == false, "\(describe(summary))")
        expectAllPass(summary)
        let work = stats(summary, "work")
        #expect(work.count(.lockNotAvailable) > 0, "\(describe(summary))")
        #expect(work.failed == work.count(.lockNotAvailable), "only 55P03 fails: \(describe(summary))")
        #expect(summary.stats.errors["55P03"]?.sampleMessage.contains("could not obtain lock on row") == true)
    }

    @Test("queue blocking: workers queue on the oldest job; no errors, each job exactly once")
    func queueBlocking() throws {
        let summary = try queue("blocking")
        #expect(summary.partial == false, "\(describe(summary))")
        expectAllPass(summary)
        #expect(summary.stats.total.failed == 0, "\(describe(summary))")
    }

    @Test("queue reaper: abandoned claims return to the queue through the reaper; each job exactly once")
    func queueReaper() throws {
        let summary = try queue("reaper")
        #expect(summary.partial == false, "\(describe(summary))")
        expectAllPass(summary)
        #expect(stats(summary, "reap").committed > 0, "the reaper never ran: \(describe(summary))")
        #expect(summary.stats.total.failed == 0, "\(describe(summary))")
    }

    // MARK: checkout.yaml

    /// 8 clients on 20 products with little stock, so carts share products
    /// and some run out; the tables are kept to count the orders.
    private func checkout(_ variant: String) throws -> (RunSummary, orders: Int) {
        let summary = try run("checkout.yaml", variant, ["initial_stock": 30, "restock": 10], clients: 8, seconds: 3, keepData: true)
        let server = try #require(SharedServer.current)
        let connection = try PostgresConnection(dsn: server.dsn)
        let orders = try #require(Int(try connection.execute("SELECT count(*) FROM orders").scalar ?? ""))
        return (summary, orders)
    }

    @Test("checkout cart-order: carts taking products in cart order deadlock; stock conserved; committed == orders")
    func checkoutCartOrder() throws {
        let (summary, orders) = try checkout("cart-order")
        expectAllPass(summary)
        let checkout = stats(summary, "checkout")
        #expect(checkout.count(.deadlock) > 0, "\(describe(summary))")
        #expect(checkout.committed == orders, "\(describe(summary))")
        #expect(checkout.unexpectedErrors == 0, "\(describe(summary))")
    }

    @Test("checkout id-order: products sorted on the client never deadlock; out of stock rolls back on purpose; every line counted")
    func checkoutIdOrder() throws {
        let (summary, orders) = try checkout("id-order")
        expectAllPass(summary)
        let checkout = stats(summary, "checkout")
        #expect(summary.stats.total.count(.deadlock) == 0, "\(describe(summary))")
        #expect(checkout.failed == 0, "\(describe(summary))")
        #expect(checkout.rolledBack > 0, "no checkout ran out of stock: \(describe(summary))")
        #expect(checkout.committed == orders, "\(describe(summary))")
        #expect(checkout.attempts == checkout.committed + checkout.rolledBack, "\(describe(summary))")
        // Three lines per committed order, none for the ones rolled back.
        #expect(summary.stats.total.units(0) == 3 * checkout.committed, "\(describe(summary))")
    }

    // MARK: hot-row.yaml

    /// 16 clients on one row; the run ends when sold out.
    private func hotRow(_ variant: String, tickets: Int64 = 300) throws -> RunSummary {
        try run("hot-row.yaml", variant, ["tickets": tickets], clients: 16, seconds: 60)
    }

    /// The safe strategies sell every ticket exactly once and leave none.
    private func expectSoldOutExactly(_ summary: RunSummary) {
        expectAllPass(summary)
        #expect(invariant(summary, "every ticket sold once")?.actual == "300", "\(describe(summary))")
        #expect(summary.partial == false, "\(describe(summary))")
    }

    @Test("hot-row blocking: clients queue on the row; never oversells, nothing fails")
    func hotRowBlocking() throws {
        let summary = try hotRow("blocking")
        expectSoldOutExactly(summary)
        #expect(summary.stats.total.failed == 0, "\(describe(summary))")
    }

    @Test("hot-row nowait: 55P03 whenever the row is held, retried; never oversells")
    func hotRowNowait() throws {
        let summary = try hotRow("nowait")
        expectSoldOutExactly(summary)
        let book = stats(summary, "book")
        #expect(book.count(.lockNotAvailable) > 0, "\(describe(summary))")
        #expect(book.retries > 0, "\(describe(summary))")
        #expect(book.failed == book.count(.lockNotAvailable), "\(describe(summary))")
    }

    @Test("hot-row lock-timeout: 55P03 after 2 ms of waiting, retried; never oversells")
    func hotRowLockTimeout() throws {
        let summary = try hotRow("lock-timeout")
        expectSoldOutExactly(summary)
        let book = stats(summary, "book")
        #expect(book.count(.lockNotAvailable) > 0, "\(describe(summary))")
        #expect(book.retries > 0, "\(describe(summary))")
        // Every failure is the lock timeout: 55P03, or now and then the
        // server's unmarked form of it, 57014 "due to user request" (seen 1
        // in 1,352 under load; lockstorm sent no cancel: this run ends by
        // selling out, not at a deadline). Both are counted, and retried.
        #expect(book.failed == book.count(.lockNotAvailable) + book.count(.statementTimeout), "\(describe(summary))")
        #expect(book.count(.statementTimeout) * 100 <= book.failed, "more than a rare race: \(describe(summary))")
        if let canceled = summary.stats.errors["57014"] {
            #expect(canceled.sampleMessage == "canceling statement due to user request", "\(describe(summary))")
            #expect(canceled.unexpected == 0, "declared by the variant's retry: \(describe(summary))")
        }
        #expect(summary.stats.errors["55P03"]?.sampleMessage == "canceling statement due to lock timeout")
    }

    @Test("hot-row no-lock: lost updates oversell and the 'every ticket sold once' invariant catches it")
    func hotRowNoLockOversells() throws {
        // 16 clients read the count and write it back after up to 1 ms: two
        // clients reading the same count is all it takes, and with 16 of them
        // on one row it happens in nearly every round (300 tickets sell
        // about 4,500 times), not once in a while. Fewer tickets: the lost
        // updates make the count fall slowly.
        let summary = try hotRow("no-lock", tickets: 100)
        let soldOnce = try #require(invariant(summary, "every ticket sold once"))
        #expect(soldOnce.passed == false, "no lost update: \(describe(summary))")
        // Bookings + tickets left exceed the tickets that existed: oversold.
        let actual = try #require(soldOnce.actual.flatMap { Int($0) })
        #expect(actual > 100, "\(describe(summary))")
        // The count is written back, never decremented below what was read: it stays >= 0.
        #expect(invariant(summary, "never below zero")?.passed == true, "\(describe(summary))")
        #expect(summary.invariantFailures == 1)
        #expect(summary.stats.total.failed == 0, "\(describe(summary))")
    }

    @Test("hot-row conditional-update: one UPDATE … WHERE tickets > 0; never oversells, nothing fails")
    func hotRowConditionalUpdate() throws {
        let summary = try hotRow("conditional-update")
        expectSoldOutExactly(summary)
        #expect(summary.stats.total.failed == 0, "\(describe(summary))")
    }

    // MARK: row-lock-modes.yaml

    /// The workload as shipped (8 parents, hold 10 ms, lock_timeout 2 ms), 8
    /// clients for 2 s. Returns the share of attach and touch attempts that
    /// failed with 55P03.
    ///
    /// "Blocked" cells fail about 35–45 % of their attempts. "Never blocked"
    /// cells are exact zeros for the row locks, but attach and touch can
    /// also wait on a lock the mode has nothing to do with: the relation
    /// extension lock, when another insert or update is growing `child`,
    /// `parent` or an index. On a busy machine the backend extending the
    /// table can be descheduled for more than 2 ms, and the waiter gives up
    /// with 55P03: seen once in about 100,000 attaches (an insert-only
    /// workload with a 1 ms lock_timeout reproduces it at will). So the
    /// test separates the two by rate, with wide margins: at most 5 % vs
    /// at least 15 %.
    private func rowLockModes(_ variant: String) throws -> (summary: RunSummary, attach: Double, touch: Double) {
        let summary = try run("row-lock-modes.yaml", variant, ["parents": 8], clients: 8, seconds: 2)
        expectAllPass(summary)
        #expect(stats(summary, "hold").failed == 0, "hold waits, it never fails: \(describe(summary))")
        var rates: [Double] = []
        for name in ["attach", "touch"] {
            let transaction = stats(summary, name)
            #expect(transaction.committed > 0, "\(name) never committed: \(describe(summary))")
            #expect(transaction.failed == transaction.count(.lockNotAvailable), "only 55P03 may fail \(name): \(describe(summary))")
            rates.append(Double(transaction.count(.lockNotAvailable)) / Double(max(transaction.attempts, 1)))
        }
        return (summary, rates[0], rates[1])
    }

    private static let blocked = 0.15
    private static let neverBlocked = 0.05

    @Test("row-lock-modes for-update: blocks FK inserts (attach) and updates (touch)")
    func rowLockForUpdate() throws {
        let result = try rowLockModes("for-update")
        #expect(result.attach >= Self.blocked, "\(describe(result.summary))")
        #expect(result.touch >= Self.blocked, "\(describe(result.summary))")
    }

    @Test("row-lock-modes for-no-key-update: FK inserts pass, updates block")
    func rowLockForNoKeyUpdate() throws {
        let result = try rowLockModes("for-no-key-update")
        #expect(result.attach <= Self.neverBlocked, "\(describe(result.summary))")
        #expect(result.touch >= Self.blocked, "\(describe(result.summary))")
    }

    @Test("row-lock-modes for-share: FK inserts pass, updates block")
    func rowLockForShare() throws {
        let result = try rowLockModes("for-share")
        #expect(result.attach <= Self.neverBlocked, "\(describe(result.summary))")
        #expect(result.touch >= Self.blocked, "\(describe(result.summary))")
    }

    @Test("row-lock-modes for-key-share: neither FK inserts nor updates block")
    func rowLockForKeyShare() throws {
        let result = try rowLockModes("for-key-share")
        #expect(result.attach <= Self.neverBlocked, "\(describe(result.summary))")
        #expect(result.touch <= Self.neverBlocked, "\(describe(result.summary))")
    }

    // MARK: ddl-under-load.yaml

    /// 6 readers, the report and the ALTER for 3 s, with a 300 ms report.
    /// The ALTER rests as long as the report (50 ms), so it comes back as
    /// the next report begins and has to wait for nearly all of it
    /// (no-timeout) or give up (lock-timeout): every cycle, not by chance.
    private func ddl(_ variant: String) throws -> RunSummary {
        try run("ddl-under-load.yaml", variant, ["rows": 1_000, "report_ms": 300], clients: 8, seconds: 3)
    }

    @Test("ddl-under-load no-timeout: every ALTER commits, zero 55P03, readers stall behind the waiting ALTER")
    func ddlNoTimeout() throws {
        let summary = try ddl("no-timeout")
        expectAllPass(summary)
        #expect(summary.stats.total.count(.lockNotAvailable) == 0, "\(describe(summary))")
        #expect(summary.stats.total.failed == 0, "\(describe(summary))")
        #expect(stats(summary, "alter").committed > 0, "\(describe(summary))")
        // Each ALTER waits about 250 ms for the report and the readers queue
        // behind it: some read waits 100 ms or more (a slower machine only
        // waits longer). Not p99: how many reads stall depends on how fast
        // the others run.
        let readMaxMilliseconds = Double(stats(summary, "read").latency.max) / 1_000
        #expect(readMaxMilliseconds >= 100, "readers never stalled: max \(readMaxMilliseconds) ms; \(describe(summary))")
    }

    @Test("ddl-under-load lock-timeout: the ALTER gives up with 55P03 instead of waiting behind the report")
    func ddlLockTimeout() throws {
        let summary = try ddl("lock-timeout")
        expectAllPass(summary)
        let alter = stats(summary, "alter")
        #expect(alter.count(.lockNotAvailable) > 0, "\(describe(summary))")
        #expect(alter.failed == alter.count(.lockNotAvailable), "\(describe(summary))")
        #expect(stats(summary, "read").failed == 0 && stats(summary, "report").failed == 0, "\(describe(summary))")
    }

    // MARK: advisory.yaml

    private func advisory(_ variant: String) throws -> RunSummary {
        try run("advisory.yaml", variant, [:], clients: 8, seconds: 2)
    }

    @Test("advisory session: session-scope lock across autocommitted steps; never two holders")
    func advisorySession() throws {
        let summary = try advisory("session")
        expectAllPass(summary)
        #expect(stats(summary, "job").committed > 0, "\(describe(summary))")
        #expect(invariant(summary, "never two holders at once")?.during?.checks ?? 0 > 0, "\(describe(summary))")
    }

    @Test("advisory xact: transaction-scope lock around the whole job; never two holders")
    func advisoryXact() throws {
        let summary = try advisory("xact")
        expectAllPass(summary)
        #expect(stats(summary, "job").committed > 0, "\(describe(summary))")
    }

    @Test("advisory xact-in-autocommit: the lock is released at once, jobs overlap, the invariant fails")
    func advisoryXactInAutocommit() throws {
        // 8 clients each start a 2 ms job every 0–2 ms with a lock that ends
        // with its own statement: runs overlap all the time, not by chance.
        let summary = try advisory("xact-in-autocommit")
        let holders = try #require(invariant(summary, "never two holders at once"))
        #expect(holders.passed == false, "\(describe(summary))")
        #expect(holders.passedAfterRun == false)
        #expect(holders.during?.failures ?? 0 > 0, "the during-run check saw no overlap: \(describe(summary))")
        #expect(invariant(summary, "every run finished")?.passed == true, "\(describe(summary))")
    }

    // MARK: serializable.yaml

    private func serializable(_ variant: String) throws -> RunSummary {
        try run("serializable.yaml", variant, ["accounts": 20], clients: 16, seconds: 2)
    }

    @Test("serializable retry: serialization failures retried; money conserved, no balance below zero")
    func serializableRetry() throws {
        let summary = try serializable("retry")
        expectAllPass(summary)
        let total = summary.stats.total
        #expect(total.count(.serializationFailure) > 0, "\(describe(summary))")
        #expect(total.retries > 0, "\(describe(summary))")
        #expect(total.committed > 0, "\(describe(summary))")
        #expect(total.failed == total.count(.serializationFailure) + total.count(.deadlock), "\(describe(summary))")
    }

    @Test("serializable no-retry: every 40001 is a failed transfer; money still conserved")
    func serializableNoRetry() throws {
        let summary = try serializable("no-retry")
        expectAllPass(summary)
        let total = summary.stats.total
        #expect(total.count(.serializationFailure) > 0, "\(describe(summary))")
        #expect(total.retries == 0, "\(describe(summary))")
        #expect(total.failed == total.count(.serializationFailure) + total.count(.deadlock), "\(describe(summary))")
        #expect(summary.stats.errors["40001"]?.sampleMessage.contains("could not serialize access") == true)
    }

    @Test("serializable repeatable-read: concurrent updates of a row fail with 40001, retried; conserved")
    func serializableRepeatableRead() throws {
        let summary = try serializable("repeatable-read")
        expectAllPass(summary)
        let total = summary.stats.total
        #expect(total.count(.serializationFailure) > 0, "\(describe(summary))")
        #expect(total.retries > 0, "\(describe(summary))")
        #expect(summary.stats.errors["40001"]?.sampleMessage == "could not serialize access due to concurrent update")
    }

    // MARK: The deadlock zoo (zoo-*.yaml)

    /// A zoo variant at 9 clients for 2 s, the server's deadlock_timeout
    /// 100 ms: every deadlocking variant deadlocks many times over in that
    /// time (tens of cycles when run by hand), so "> 0" is not luck.
    private func zoo(_ file: String, _ variant: String) throws -> RunSummary {
        try run(file, variant, [:], clients: 9, seconds: 2)
    }

    /// The server's DETAIL of every distinct cycle seen.
    private func details(_ summary: RunSummary) -> [String] {
        summary.stats.cyclesByFrequency.map(\.sampleDetail)
    }

    /// A fix variant: no deadlock, work committed, invariants hold, and
    /// nothing failed but what `allowed` names.
    private func expectFixed(_ summary: RunSummary, allowing allowed: ErrorClass? = nil, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        expectAllPass(summary, sourceLocation: sourceLocation)
        let total = summary.stats.total
        #expect(total.count(.deadlock) == 0, "\(describe(summary))", sourceLocation: sourceLocation)
        #expect(total.committed > 0, "\(describe(summary))", sourceLocation: sourceLocation)
        #expect(total.failed == allowed.map { total.count($0) } ?? 0, "\(describe(summary))", sourceLocation: sourceLocation)
    }

    /// A deadlocking variant: deadlocks, only deadlocks fail, invariants hold.
    private func expectDeadlocks(_ summary: RunSummary, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        expectAllPass(summary, sourceLocation: sourceLocation)
        let total = summary.stats.total
        #expect(total.count(.deadlock) > 0, "\(describe(summary))", sourceLocation: sourceLocation)
        #expect(total.failed == total.count(.deadlock), "\(describe(summary))", sourceLocation: sourceLocation)
        #expect(total.committed > 0, "\(describe(summary))", sourceLocation: sourceLocation)
    }

    @Test("zoo-ring ring: three templates deadlock in cycles of three or more; units conserved")
    func zooRing() throws {
        let summary = try zoo("zoo-ring.yaml", "ring")
        expectDeadlocks(summary)
        // No two templates lock a pair of rows in opposite orders: every
        // cycle the server reports has at least three members.
        for detail in details(summary) {
            #expect(detail.components(separatedBy: " waits for ").count - 1 >= 3, "\(detail)")
        }
    }

    @Test("zoo-ring global-order: the same work in one global order never deadlocks")
    func zooRingGlobalOrder() throws {
        expectFixed(try zoo("zoo-ring.yaml", "global-order"))
    }

    @Test("zoo-upgrade for-share: FOR SHARE then UPDATE deadlocks on one row; every unit in stock or sold")
    func zooUpgradeForShare() throws {
        let summary = try zoo("zoo-upgrade.yaml", "for-share")
        expectDeadlocks(summary)
        #expect(details(summary).allSatisfy { $0.contains("ShareLock on transaction") }, "\(details(summary))")
    }

    @Test("zoo-upgrade for-update and for-no-key-update: the strong lock up front never deadlocks", arguments: ["for-update", "for-no-key-update"])
    func zooUpgradeFixed(variant: String) throws {
        expectFixed(try zoo("zoo-upgrade.yaml", variant))
    }

    @Test("zoo-foreign-key for-update and key-update: FOR KEY SHARE from child inserts, then a stronger parent lock, deadlocks", arguments: ["for-update", "key-update"])
    func zooForeignKey(variant: String) throws {
        expectDeadlocks(try zoo("zoo-foreign-key.yaml", variant))
    }

    @Test("zoo-foreign-key no-key-update and parent-first: never deadlock; totals match their lines", arguments: ["no-key-update", "parent-first"])
    func zooForeignKeyFixed(variant: String) throws {
        expectFixed(try zoo("zoo-foreign-key.yaml", variant))
    }

    @Test("zoo-advisory two-int and bigint: advisory locks in request order deadlock, on keys of the variant's kind", arguments: ["two-int", "bigint"])
    func zooAdvisory(variant: String) throws {
        let summary = try zoo("zoo-advisory.yaml", variant)
        expectDeadlocks(summary)
        // PostgreSQL names an advisory lock [database,key1,key2,type]: type 2
        // for two int4 keys (7, account), type 1 for one bigint split into
        // its high and low halves (5000000000 + account: high 1, low 705032704 + account).
        let key = variant == "two-int" ? #/advisory lock \[\d+,7,[1-4],2\]/# : #/advisory lock \[\d+,1,70503270[5-8],1\]/#
        for detail in details(summary) {
            #expect(detail.contains(key), "\(detail)")
        }
    }

    @Test("zoo-advisory ordered keys: never deadlock", arguments: ["two-int-ordered", "bigint-ordered"])
    func zooAdvisoryOrdered(variant: String) throws {
        expectFixed(try zoo("zoo-advisory.yaml", variant))
    }

    @Test("zoo-ddl reverse-order: ALTER TABLE against the application's table order deadlocks on relation locks")
    func zooDDL() throws {
        let summary = try zoo("zoo-ddl.yaml", "reverse-order")
        expectDeadlocks(summary)
        for detail in details(summary) {
            #expect(detail.contains("AccessExclusiveLock on relation") && detail.contains("RowExclusiveLock on relation"), "\(detail)")
        }
    }

    @Test("zoo-ddl app-order and strongest-first: never deadlock; the job only gives up on lock_timeout", arguments: ["app-order", "strongest-first"])
    func zooDDLFixed(variant: String) throws {
        let summary = try zoo("zoo-ddl.yaml", variant)
        expectFixed(summary, allowing: .lockNotAvailable)
        #expect(stats(summary, "ship").failed == 0, "\(describe(summary))")
        #expect(stats(summary, "maintain").committed > 0, "the job never got its locks: \(describe(summary))")
    }

    // MARK: Helpers

    /// Runs `variant` of a shipped workload on the suite's server.
    private func run(_ file: String, _ variant: String, _ parameters: [String: Int64], clients: Int, seconds: Double, keepData: Bool = false) throws -> RunSummary {
        let server = try #require(SharedServer.current, "the suite's server is not running")
        let workload = try WorkloadParser.parse(try TestServer.workloadText(file), file: file)
        let overrides = parameters.sorted { $0.key < $1.key }.map { (name: $0.key, value: Value.int($0.value)) }
        let plan = try workload.plan(variant: variant, overrides: overrides, file: file)
        let options = LoadOptions(clients: clients, threads: 2, durationSeconds: seconds, seed: 42, runTeardown: !keepData)
        return try LoadRunner.run(plan: plan, dsn: server.dsn, options: options, stop: StopSignal()).summary
    }

    private func stats(_ summary: RunSummary, _ transaction: String) -> TransactionStats {
        guard let index = summary.transactionNames.firstIndex(of: transaction) else {
            Issue.record("no transaction '\(transaction)' in \(summary.transactionNames)")
            return TransactionStats()
        }
        return summary.stats.transactions[index]
    }

    private func invariant(_ summary: RunSummary, _ name: String) -> InvariantResult? {
        summary.invariants.first { $0.name == name }
    }

    private func expectAllPass(_ summary: RunSummary, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        #expect(!summary.invariants.isEmpty, sourceLocation: sourceLocation)
        for result in summary.invariants {
            #expect(result.passed, "\(result.name): \(describe(summary))", sourceLocation: sourceLocation)
        }
    }

    /// The figures a failed expectation needs: per transaction and invariant.
    private func describe(_ summary: RunSummary) -> String {
        var parts = zip(summary.transactionNames, summary.stats.transactions).map { name, stats in
            let errors = ErrorClass.allCases.filter { stats.count($0) > 0 }.map { "\($0.columnName)=\(stats.count($0))" }
            return "\(name): attempts \(stats.attempts) committed \(stats.committed) failed \(stats.failed) retries \(stats.retries)"
                + (errors.isEmpty ? "" : " [\(errors.joined(separator: " "))]")
        }
        parts += summary.invariants.map { "\($0.passed ? "PASS" : "FAIL") \($0.name): \($0.actual ?? $0.error ?? "NULL")\($0.during.map { " (\($0.description))" } ?? "")" }
        if summary.partial { parts.append("partial") }
        // Every SQLSTATE seen, so a stray failure says what it was.
        let errors = summary.stats.errors.values.sorted { $0.sqlState < $1.sqlState }
        if !errors.isEmpty { parts.append("errors " + errors.map { "\($0.sqlState)×\($0.count) (\($0.sampleMessage))" }.joined(separator: ", ")) }
        return parts.joined(separator: "; ")
    }
}

/// The suite's one embedded server, started before its first test and
/// stopped after its last.
enum SharedServer {
    @TaskLocal static var current: EmbeddedServer?
}

struct SharedServerTrait: SuiteTrait, TestScoping {
    var isRecursive: Bool { false }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        guard !TestServer.skipped else { return try await function() }
        let server = try EmbeddedServer.start(EmbeddedServerOptions(maxConnections: 60, deadlockTimeoutMilliseconds: 100))
        defer { server.stop() }
        try await SharedServer.$current.withValue(server) { try await function() }
    }
}

extension Trait where Self == SharedServerTrait {
    /// One embedded server for every test of the suite (`SharedServer.current`).
    static var sharedServer: Self { SharedServerTrait() }
}
