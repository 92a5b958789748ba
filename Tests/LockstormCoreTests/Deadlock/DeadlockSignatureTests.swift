import Testing
@testable import LockstormCore

@Suite struct DeadlockSignatureTests {
    typealias Participant = DeadlockSignature.Participant

    static func p(_ template: String?, _ step: Int?, _ mode: String = "ShareLock", _ kind: String = "transaction") -> Participant {
        Participant(template: template, step: step, lockKind: kind, mode: mode)
    }

    static func rotations<T>(_ items: [T]) -> [[T]] {
        items.indices.map { Array(items[$0...] + items[..<$0]) }
    }

    /// Rotates the lines of a DETAIL, as if PostgreSQL had started its report elsewhere.
    static func rotatedDetail(_ detail: String, by offset: Int) -> String {
        let lines = detail.split(separator: "\n")
        return (lines[offset...] + lines[..<offset]).joined(separator: "\n")
    }

    @Test func twoTransfersOnRealReport() throws {
        let sample = DeadlockSamples.rowUpdates
        let report = try #require(DeadlockReport.parse(detail: sample.detail, context: sample.context))
        let signature = DeadlockSignature(report: report) { _ in (template: "transfer", step: 1) }
        #expect(signature.text == "transfer:2/ShareLock/transaction -> transfer:2/ShareLock/transaction")
        #expect(signature.description == signature.text)
        #expect(signature.summary == "transfer step 2 ↔ transfer step 2: each waits for a lock (ShareLock on transaction) the other holds")
    }

    @Test func sameShapeWithOtherPIDsAndXIDsGivesTheSameSignature() throws {
        let real = try #require(DeadlockReport.parse(detail: DeadlockSamples.tableLocks.detail, context: nil))
        let other = try #require(DeadlockReport.parse(detail: """
            Process 901 waits for AccessExclusiveLock on relation 70001 of database 16999; blocked by process 902.
            Process 902 waits for ExclusiveLock on relation 70002 of database 16999; blocked by process 901.
            """, context: nil))
        let steps: [Int32: (template: String, step: Int?)] = [
            24418: ("lock_b_then_a", 1), 24417: ("lock_a_then_b", 1), 901: ("lock_b_then_a", 1), 902: ("lock_a_then_b", 1),
        ]
        let a = DeadlockSignature(report: real) { steps[$0] }
        let b = DeadlockSignature(report: other) { steps[$0] }
        #expect(a == b)
        #expect(a.text == "lock_a_then_b:2/ExclusiveLock/relation -> lock_b_then_a:2/AccessExclusiveLock/relation")
        #expect(a.summary == "lock_a_then_b step 2 ↔ lock_b_then_a step 2: each waits for a lock the other holds "
            + "(lock_a_then_b step 2: ExclusiveLock on relation; lock_b_then_a step 2: AccessExclusiveLock on relation)")
    }

    @Test(arguments: 0..<3)
    func realThreeWayCycleIsTheSameWhereverTheReportStarts(offset: Int) throws {
        let sample = DeadlockSamples.tupleLock
        let templates: [Int32: (template: String, step: Int?)] = [24388: ("bump", 0), 24389: ("bump", 1), 24390: ("bump", 0)]
        let original = try #require(DeadlockReport.parse(detail: sample.detail, context: nil))
        let rotated = try #require(DeadlockReport.parse(detail: Self.rotatedDetail(sample.detail, by: offset), context: nil))
        #expect(rotated.isClosedCycle)
        let a = DeadlockSignature(report: original) { templates[$0] }
        let b = DeadlockSignature(report: rotated) { templates[$0] }
        #expect(a == b)
        #expect(a.text == "bump:1/ExclusiveLock/tuple -> bump:1/ShareLock/transaction -> bump:2/ShareLock/transaction")
        #expect(a.summary == "bump step 1 → bump step 1 → bump step 2 → bump step 1: each waits for a lock held by the next "
            + "(bump step 1: ExclusiveLock on tuple; bump step 1: ShareLock on transaction; bump step 2: ShareLock on transaction)")
    }

    @Test func everyRotationGivesTheSameSignature() {
        let cycle = [Self.p("b", 0), Self.p("a", 2), Self.p("c", 1, "ExclusiveLock", "tuple"), Self.p(nil, nil), Self.p("a", 0)]
        let signatures = Set(Self.rotations(cycle).map { DeadlockSignature(participants: $0) })
        #expect(signatures.count == 1)
        #expect(signatures.first?.text
            == "a:1/ShareLock/transaction -> b:1/ShareLock/transaction -> a:3/ShareLock/transaction -> c:2/ExclusiveLock/tuple -> outside/ShareLock/transaction")
    }

    @Test func repeatingCycleHasOneSignature() {
        let cycle = [Self.p("a", 0), Self.p("b", 0), Self.p("a", 0), Self.p("b", 0)]
        let texts = Set(Self.rotations(cycle).map { DeadlockSignature(participants: $0).text })
        #expect(texts == ["a:1/ShareLock/transaction -> b:1/ShareLock/transaction -> a:1/ShareLock/transaction -> b:1/ShareLock/transaction"])
    }

    @Test func randomCyclesAreRotationInvariant() {
        // A fixed linear congruential generator keeps the test reproducible.
        var state: UInt64 = 0x5EED
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        for _ in 0..<300 {
            let cycle = (0..<(1 + next(6))).map { _ in
                Self.p(["a", "b", nil][next(3)], [0, 1, nil][next(3)], ["ShareLock", "ExclusiveLock"][next(2)], ["transaction", "tuple"][next(2)])
            }
            let texts = Set(Self.rotations(cycle).map { DeadlockSignature(participants: $0).text })
            #expect(texts.count == 1, "\(cycle)")
            let naive = Self.rotations(cycle.map(\.token)).min { $0.lexicographicallyPrecedes($1) }
            #expect(texts.first == naive?.joined(separator: " -> "))
        }
    }

    @Test func differentStepTemplateKindOrModeGiveDifferentSignatures() {
        let base = [Self.p("transfer", 1), Self.p("transfer", 1)]
        let variants: [[Participant]] = [
            base,
            [Self.p("transfer", 1), Self.p("transfer", 2)],
            [Self.p("transfer", 1), Self.p("refund", 1)],
            [Self.p("transfer", 1), Self.p("transfer", nil)],
            [Self.p("transfer", 1), Self.p(nil, 1)],
            [Self.p("transfer", 1), Self.p("transfer", 1, "ShareLock", "tuple")],
            [Self.p("transfer", 1), Self.p("transfer", 1, "ExclusiveLock")],
            [Self.p("transfer", 1), Self.p("transfer", 1), Self.p("transfer", 1)],
            [Self.p("transfer", 1)],
        ]
        let texts = variants.map { DeadlockSignature(participants: $0).text }
        #expect(Set(texts).count == variants.count, "\(texts)")
    }

    @Test func threeCycleNeverEqualsATwoCycle() {
        let two = DeadlockSignature(participants: [Self.p("a", 0), Self.p("a", 0)])
        let three = DeadlockSignature(participants: [Self.p("a", 0), Self.p("a", 0), Self.p("a", 0)])
        #expect(two != three)
        #expect(two.participants.count == 2)
        #expect(three.participants.count == 3)
    }

    @Test func directionOfTheCycleMatters() {
        let forward = DeadlockSignature(participants: [Self.p("a", 0), Self.p("b", 0), Self.p("c", 0)])
        let backward = DeadlockSignature(participants: [Self.p("a", 0), Self.p("c", 0), Self.p("b", 0)])
        #expect(forward != backward)
    }

    @Test func separatorsInNamesCannotForgeAnotherSignature() {
        let forged = DeadlockSignature(participants: [Self.p("a:1/ShareLock/transaction -> a", 0)])
        let real = DeadlockSignature(participants: [Self.p("a", 0), Self.p("a", 0)])
        #expect(forged != real)
        #expect(forged.text == "a%3A1%2FShareLock%2Ftransaction%20->%20a:1/ShareLock/transaction")
        let namedOutside = DeadlockSignature(participants: [Self.p("outside", nil)])
        let outside = DeadlockSignature(participants: [Self.p(nil, nil)])
        #expect(namedOutside != outside)
        #expect(outside.text == "outside/ShareLock/transaction")
    }

    @Test func outsideSessionsAreNamedAsSuch() {
        let signature = DeadlockSignature(participants: [Self.p("transfer", 0), Self.p(nil, nil)])
        #expect(signature.text == "outside/ShareLock/transaction -> transfer:1/ShareLock/transaction")
        #expect(signature.summary == "outside session ↔ transfer step 1: each waits for a lock (ShareLock on transaction) the other holds")
    }

    @Test func summaryForThreeAlikeOneAndNone() {
        let three = DeadlockSignature(participants: [Self.p("t", 0), Self.p("t", 1), Self.p("t", 2)])
        #expect(three.summary == "t step 1 → t step 2 → t step 3 → t step 1: each waits for a lock (ShareLock on transaction) held by the next")
        let one = DeadlockSignature(participants: [Self.p("t", nil, "ExclusiveLock", "advisory")])
        #expect(one.summary == "t step ? waits for a lock (ExclusiveLock on advisory) it already holds", "no step: uncertain, shown as such")
        let none = DeadlockSignature(participants: [])
        #expect(none.text == "")
        #expect(none.summary == "empty cycle")
    }

    @Test func longCyclesAreCanonicalisedQuickly() {
        // Identical tokens are the worst case for a naive rotation search.
        let same = Array(repeating: Self.p("t", 0), count: 50_000)
        #expect(DeadlockSignature.smallestRotation(same.map(\.token)) == 0)
        var skewed = same
        skewed[37_000] = Self.p("a", 0)
        #expect(DeadlockSignature(participants: skewed).participants.first == Self.p("a", 0))
    }
}
