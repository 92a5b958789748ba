import Testing
@testable import LockstormCore

@Suite struct SQLStateTests {
    @Test(arguments: [
        ("40P01", ErrorClass.deadlock),
        ("55P03", .lockNotAvailable),
        ("40001", .serializationFailure),
        ("57014", .statementTimeout),
        ("08006", .connection),
        ("08001", .connection),
        ("08000", .connection),
        ("57P01", .connection),
        ("57P02", .connection),
        ("57P03", .connection),
        ("23505", .other),
        ("25P02", .other),
        ("53300", .other),
    ])
    func classifyMapsEachSQLStateToItsClass(code: String, expected: ErrorClass) {
        #expect(ErrorClass.classify(SQLState(code)) == expected)
    }

    /// The catalog is the union of PostgreSQL 15's and 18's errcodes.txt: a
    /// workload may name a code only newer servers raise, and one older
    /// servers still raise, whichever version it runs against.
    @Test func codesOfEverySupportedVersionResolveByNameAndCode() {
        #expect(SQLState.resolve("transaction_timeout")?.code == "25P04")   // added in 17
        #expect(SQLState("25P04").conditionName == "transaction_timeout")
        #expect(SQLState.resolve("file_name_too_long")?.code == "58P03")    // added in 17
        #expect(SQLState.resolve("snapshot_too_old")?.code == "72000")      // retired in 17
        #expect(SQLState("72000").isKnown)
    }

    @Test func classifyWithoutASQLStateIsOther() {
        #expect(ErrorClass.classify(nil) == .other)
    }

    @Test func namedConstantsHoldTheirCodes() {
        #expect(SQLState.deadlockDetected.code == "40P01")
        #expect(SQLState.lockNotAvailable.code == "55P03")
        #expect(SQLState.serializationFailure.code == "40001")
        #expect(SQLState.queryCanceled.code == "57014")
        #expect(SQLState.connectionFailure.code == "08006")
        #expect(SQLState.uniqueViolation.code == "23505")
        #expect(SQLState("40P01") == .deadlockDetected)
    }

    @Test func errorClassIsTheFirstTwoCharacters() {
        #expect(SQLState("40P01").errorClass == "40")
        #expect(SQLState("08006").errorClass == "08")
    }

    @Test func columnNamesAreDistinctAndMatchTheSummaryColumns() {
        let names = ErrorClass.allCases.map(\.columnName)
        #expect(names == ["deadlocks", "lock_not_available", "serialization_failures", "statement_timeouts", "connection_errors", "other_errors"])
        for name in names { #expect(SummaryRow.columns.contains(name)) }
    }

    @Test(arguments: ["40P01", "40001", "08006", "ABCDE", "00000"])
    func wellFormedCodesAreAccepted(code: String) {
        #expect(SQLState.isWellFormed(code))
    }

    @Test(arguments: ["4001", "400011", "40p01", "40-01", "", "40P0 ", "40É01"])
    func malformedCodesAreRejected(code: String) {
        #expect(!SQLState.isWellFormed(code))
    }
}
