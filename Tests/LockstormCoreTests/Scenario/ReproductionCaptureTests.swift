import Foundation
import Testing
@testable import LockstormCore

/// The shipped checkout workload: an order whose id the server generates
/// (`RETURNING order_id` into `order_id`), then lines that reference it.
func checkoutPlan(variant: String = "cart-order") throws -> (Workload, RunPlan) {
    let url = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("workloads/checkout.yaml")
    let workload = try WorkloadParser.parse(try String(contentsOf: url, encoding: .utf8), file: "checkout.yaml")
    return (workload, try workload.plan(variant: variant, overrides: [], file: "checkout.yaml"))
}

@Suite("Reproductions re-run captures; fuzz reports only attributed cycles")
struct ReproductionCaptureTests {
    static let insertOrder = "INSERT INTO orders (client) VALUES ($1) RETURNING order_id"
    static let take = "UPDATE inventory SET stock = stock - $1 WHERE product_id = $2 AND stock >= $1"
    static let line = "INSERT INTO order_lines (order_id, product_id, qty) VALUES ($1, $2, $3)"

    /// A checkout that took product `a`, recorded its line, and waits to take `b` (template step 5).
    static func checkout(_ pid: Int32, client: String, orderID: String, a: String, b: String) -> CycleParticipant {
        var participant = CycleParticipant(pid: pid, template: "checkout", step: 4, sql: take, parameters: ["2", b], waitsFor: "ShareLock on transaction 9")
        participant.transaction = [
            .init(step: nil, sql: "BEGIN", parameters: []),
            .init(step: 0, sql: insertOrder, parameters: [client]),
            .init(step: 1, sql: take, parameters: ["2", a]),
            .init(step: 2, sql: line, parameters: [orderID, a, "2"]),
            .init(step: 4, sql: take, parameters: ["2", b]),
        ]
        return participant
    }

    static func record(_ participants: [CycleParticipant]) -> CycleRecord {
        let signature = DeadlockSignature(participants: participants.map { .init(template: $0.template, step: $0.step, lockKind: "transaction", mode: "ShareLock") })
        return CycleRecord(signature: signature, count: 1, firstSeenSeconds: 0.1, sampleDetail: "", sampleParticipants: participants)
    }

    @Test("a capture used later is re-run into a temporary table and read from it; drawn values stay constants, the captured id does not")
    func captureIsRerun() throws {
        let (workload, plan) = try checkoutPlan()
        let record = Self.record([
            Self.checkout(10, client: "3", orderID: "137", a: "5", b: "7"),
            Self.checkout(11, client: "4", orderID: "138", a: "7", b: "5"),
        ])
        #expect(record.unattributedReason(in: plan) == nil)
        let reproduction = try Reproduction.from(record, plan: plan, workload: workload, deadlockTimeoutMilliseconds: 20)
        let steps = reproduction.sessions[0].steps
        #expect(steps.map(\.templateStep) == [0, 1, 2, 4])
        #expect(steps[0].text == "CREATE TEMP TABLE lockstorm_into_1 (\"order_id\") ON COMMIT DROP AS WITH captured AS (INSERT INTO orders (client) VALUES (:client_id) RETURNING order_id) SELECT * FROM captured")
        #expect(steps[2].text == "INSERT INTO order_lines (order_id, product_id, qty) VALUES ((SELECT \"order_id\" FROM lockstorm_into_1 LIMIT 1), :a, :qty)")
        #expect(!reproduction.sessions[0].parameters.contains { $0.name == "order_id" })
        #expect(reproduction.sessions[0].parameters.contains { $0.name == "a" && $0.value == "5" })

        let scenario = try ScenarioParser.parse(reproduction.yaml, file: "repro.yaml")
        // The line's insert is bound to the drawn values only: 137 is nowhere.
        #expect(scenario.sessions[0].steps[2].statement.parameters == ["5", "2"])
        #expect(!reproduction.yaml.contains("137"))
        #expect(scenario.sessions[1].steps[3].statement == BoundStatement(sql: Self.take, parameters: ["2", "5"]))
        // One numbering: the order names sessions only; steps carry the template's numbers.
        #expect(reproduction.yaml.contains("order: [checkout_1, checkout_1, checkout_1, checkout_2, checkout_2, checkout_2, checkout_1, checkout_2]\n"))
        #expect(reproduction.yaml.contains("template_step: 5 }"))
        #expect(record.signature.text == "checkout:5/ShareLock/transaction -> checkout:5/ShareLock/transaction")
    }

    @Test("a capture no later statement uses is left as written")
    func unusedCaptureStays() throws {
        let (workload, plan) = try checkoutPlan()
        var participant = Self.checkout(10, client: "3", orderID: "137", a: "5", b: "7")
        participant.transaction.remove(at: 3)  // no order line yet
        let reproduction = try Reproduction.from(Self.record([participant]), plan: plan, workload: workload, deadlockTimeoutMilliseconds: nil)
        #expect(reproduction.sessions[0].steps[0].text == "INSERT INTO orders (client) VALUES (:client_id) RETURNING order_id")
    }

    @Test("a participant that is uncertain, outside, without a step or at a pause makes the cycle unattributed")
    func unattributed() throws {
        let (_, plan) = try checkoutPlan()
        let good = Self.checkout(10, client: "3", orderID: "137", a: "5", b: "7")
        #expect(Self.record([good, good]).unattributedReason(in: plan) == nil)
        var uncertain = good
        uncertain.certainty = .uncertain
        uncertain.step = nil
        #expect(Self.record([good, uncertain]).unattributedReason(in: plan)?.contains("uncertain") == true)
        var inferredWithoutStep = good
        inferredWithoutStep.step = nil
        #expect(Self.record([good, inferredWithoutStep]).unattributedReason(in: plan)?.contains("outside any step") == true)
        let outside = CycleParticipant(pid: 99, template: nil, step: nil, sql: nil, parameters: [], waitsFor: "x")
        #expect(Self.record([good, outside]).unattributedReason(in: plan)?.contains("not one of lockstorm's sessions") == true)
        var atPause = good
        atPause.step = 3  // `pause: uniform(0ms, 2ms)`
        #expect(Self.record([good, atPause]).unattributedReason(in: plan)?.contains("step 4 is not a SQL step") == true)
        var certain = good
        certain.certainty = .serverLog
        #expect(Self.record([certain, good]).unattributedReason(in: plan) == nil)
    }

    @Test("replay shows statements with their bound values, quoted as SQL literals, placeholders in quotes left alone")
    func showingValues() {
        #expect(Reproduction.showingValues("UPDATE t SET a = $1 WHERE b = $2 AND c = '$1' AND d = $3", parameters: ["5", "it's", nil])
            == "UPDATE t SET a = 5 WHERE b = 'it''s' AND c = '$1' AND d = NULL")
        #expect(Reproduction.showingValues("SELECT $1, $2", parameters: ["-1.5", "1e3"]) == "SELECT -1.5, '1e3'")
    }
}
