import Testing
@testable import LockstormCore

@Suite struct ExpressionTests {
    @Test func integerBindTextIsTheStandardDecimalForm() {
        var values: [Int64] = [0, 1, -1, 9, 10, -10, 99, 100, 123_456_789_012_345, 999_999_999_999_999, 1_000_000_000_000_000, -99_999_999_999_999, -100_000_000_000_000, .max, .min, .max - 1, .min + 1]
        var power: Int64 = 1
        for _ in 0..<18 {
            power *= 10
            values += [power - 1, power, power + 1, -power]
        }
        for value in values {
            #expect(Value.int(value).bindText == String(value))
        }
        // Every number of up to five digits, either sign, and a spread of larger ones.
        var mismatches = (-99_999...99_999).filter { Value.int(Int64($0)).bindText != String($0) }
        var random = RandomSource(seed: 5)
        for _ in 0..<20_000 {
            let value = Int64(bitPattern: random.next()) >> Int64(random.uniform(0, 63))
            if Value.int(value).bindText != String(value) { mismatches.append(Int(value)) }
        }
        #expect(mismatches.isEmpty)
    }

    private func evaluate(_ text: String, _ values: [String: Value] = [:]) throws -> Value {
        try ExpressionParser.parse(text).evaluate { values[$0] }
    }

    private func parseError(_ text: String) -> ExpressionError? {
        do {
            _ = try ExpressionParser.parse(text)
            return nil
        } catch {
            return error
        }
    }

    // MARK: Arithmetic

    @Test func multiplicationBindsTighterThanAddition() throws {
        #expect(try evaluate("1 + 2 * 3") == .int(7))
        #expect(try evaluate("2 * 3 + 1") == .int(7))
    }

    @Test func parenthesesOverridePrecedence() throws {
        #expect(try evaluate("(1 + 2) * 3") == .int(9))
    }

    @Test func subtractionIsLeftAssociative() throws {
        #expect(try evaluate("10 - 3 - 2") == .int(5))
    }

    @Test func integerDivisionTruncatesTowardZero() throws {
        #expect(try evaluate("7 / 2") == .int(3))
        #expect(try evaluate("-7 / 2") == .int(-3))
        #expect(try evaluate("7 % 3") == .int(1))
    }

    @Test func mixedArithmeticIsDouble() throws {
        #expect(try evaluate("7 / 2.0") == .double(3.5))
        #expect(try evaluate("1 + 0.5") == .double(1.5))
    }

    @Test func unaryMinusNegates() throws {
        #expect(try evaluate("-(2 + 3)") == .int(-5))
        #expect(try evaluate("--4") == .int(4))
    }

    @Test func underscoresInNumbersAreSeparators() throws {
        #expect(try evaluate("1_000_000") == .int(1_000_000))
    }

    @Test func exponentNotationIsDouble() throws {
        #expect(try evaluate("1e3") == .double(1000))
        #expect(try evaluate("2.5E-1") == .double(0.25))
    }

    // MARK: References

    @Test func colonAndBareReferencesAreTheSameName() throws {
        let values: [String: Value] = ["accounts": .int(100), "initial_balance": .int(1000)]
        #expect(try evaluate(":accounts * :initial_balance", values) == .int(100_000))
        #expect(try evaluate("accounts * initial_balance", values) == .int(100_000))
        #expect(try ExpressionParser.parse(":accounts") == ExpressionParser.parse("accounts"))
    }

    @Test func referencesListsNamesWithOffsets() throws {
        let expression = try ExpressionParser.parse(":a + uniform(1, b.c)")
        let references = expression.references
        #expect(references.map(\.name) == ["a", "b.c"])
        #expect(references.map(\.offset) == [0, 16])
    }

    @Test func unknownReferenceIsAnErrorAtItsOffset() throws {
        let expression = try ExpressionParser.parse("1 + :missing")
        #expect(throws: ExpressionError(offset: 4, message: "unknown name 'missing'")) {
            try expression.evaluate { _ in nil }
        }
    }

    @Test func callsAreNotEvaluable() throws {
        let expression = try ExpressionParser.parse("uniform(1, 10)")
        #expect(expression == .call("uniform", [.constant(.int(1)), .constant(.int(10))], offset: 0))
        #expect(throws: ExpressionError(offset: 0, message: "'uniform(…)' is a random draw and is only allowed in 'let'")) {
            try expression.evaluate { _ in nil }
        }
    }

    // MARK: Durations

    @Test(arguments: [
        ("5ms", Int64(5_000_000)),
        ("1.5s", 1_500_000_000),
        ("250us", 250_000),
        ("7ns", 7),
        ("2min", 120_000_000_000),
        ("1h", 3_600_000_000_000),
        ("0ms", 0),
    ])
    func durationsAreNanoseconds(text: String, nanoseconds: Int64) throws {
        #expect(try evaluate(text) == .int(nanoseconds))
    }

    @Test func durationsCombineArithmetically() throws {
        #expect(try evaluate("1s + 500ms") == .int(1_500_000_000))
    }

    // MARK: Comparisons and booleans

    @Test func comparisonsProduceBooleans() throws {
        #expect(try evaluate("1 < 2") == .bool(true))
        #expect(try evaluate("2 <= 2") == .bool(true))
        #expect(try evaluate("3 > 4") == .bool(false))
        #expect(try evaluate("4 >= 5") == .bool(false))
        #expect(try evaluate("1 == 1.0") == .bool(true))
        #expect(try evaluate("1 != 2") == .bool(true))
        #expect(try evaluate("1 <> 1") == .bool(false))
        #expect(try evaluate("1 = 1") == .bool(true))
        #expect(try evaluate("'abc' < 'abd'") == .bool(true))
        #expect(try evaluate("'a' == \"a\"") == .bool(true))
    }

    @Test func booleanOperatorsFollowPrecedence() throws {
        // && binds tighter than ||.
        #expect(try evaluate("true || false && false") == .bool(true))
        #expect(try evaluate("(true || false) && false") == .bool(false))
        #expect(try evaluate("!false && 1 < 2") == .bool(true))
    }

    @Test func checkExpressionOverMetrics() throws {
        #expect(try evaluate("invariant_failures == 0", ["invariant_failures": .int(0)]) == .bool(true))
        #expect(try evaluate("invariant_failures == 0", ["invariant_failures": .int(2)]) == .bool(false))
    }

    @Test func doubledQuoteInsideStringIsOneQuote() throws {
        #expect(try evaluate("'it''s'") == .string("it's"))
    }

    // MARK: Errors

    @Test func unknownUnitIsReportedAtTheUnit() {
        #expect(parseError("5xs") == ExpressionError(offset: 1, message: "unknown unit 'xs' (use ns, us, ms, s, min or h)"))
        #expect(parseError("1 + 10sec") == ExpressionError(offset: 6, message: "unknown unit 'sec' (use ns, us, ms, s, min or h)"))
    }

    @Test func unterminatedStringIsReportedAtItsQuote() {
        #expect(parseError("1 + 'abc") == ExpressionError(offset: 4, message: "unterminated string"))
    }

    @Test func unexpectedCharacterIsReportedAtIt() {
        #expect(parseError("1 + #") == ExpressionError(offset: 4, message: "unexpected character '#'"))
    }

    @Test func trailingTokenIsUnexpected() {
        #expect(parseError("1 2") == ExpressionError(offset: 2, message: "unexpected number 2"))
    }

    @Test func comparisonsDoNotChain() {
        #expect(parseError("1 < 2 < 3") == ExpressionError(offset: 6, message: "unexpected '<'"))
    }

    @Test func missingOperandIsReported() {
        #expect(parseError("1 +") == ExpressionError(offset: 3, message: "expected a value, found end of expression"))
    }

    @Test func unclosedParenthesisIsReported() {
        #expect(parseError("(1 + 2") == ExpressionError(offset: 6, message: "expected ')', found end of expression"))
        #expect(parseError("uniform(1 2)") == ExpressionError(offset: 10, message: "expected ')' or ',' in the arguments of 'uniform', found number 2"))
    }

    @Test func divisionByZeroIsAnEvaluationError() throws {
        // Binary nodes carry no offset, so the error points at the start.
        #expect(throws: ExpressionError(offset: 0, message: "division by zero")) { try evaluate("1 / 0") }
        #expect(throws: ExpressionError(offset: 0, message: "division by zero")) { try evaluate("1 % 0") }
        #expect(throws: ExpressionError(offset: 0, message: "division by zero")) { try evaluate("1.0 / 0") }
    }

    @Test func typeMismatchesAreErrors() {
        #expect(throws: ExpressionError(offset: 0, message: "'+' needs numbers, got string and integer")) { try evaluate("'a' + 1") }
        #expect(throws: ExpressionError(offset: 0, message: "'&&' needs booleans, got integer and boolean")) { try evaluate("1 && true") }
        #expect(throws: ExpressionError(offset: 0, message: "cannot apply '-' to boolean")) { try evaluate("-true") }
        #expect(throws: ExpressionError(offset: 0, message: "cannot compare string with integer")) { try evaluate("'a' < 1") }
    }

    // MARK: Substitution

    @Test func substitutingFoldsConstants() throws {
        let expression = try ExpressionParser.parse(":accounts * :initial_balance + 1")
        let folded = try expression.substituting { ["accounts": .int(10), "initial_balance": .int(100)][$0] }
        #expect(folded == .constant(.int(1001)))
    }

    @Test func substitutingKeepsUnknownReferences() throws {
        let expression = try ExpressionParser.parse(":a * 2 + :b")
        let partial = try expression.substituting { $0 == "a" ? .int(3) : nil }
        #expect(partial == .binary(.add, .constant(.int(6)), .reference("b", offset: 9)))
    }

    @Test func substitutingFoldsCallArgumentsButKeepsTheCall() throws {
        let expression = try ExpressionParser.parse("uniform(1, :n - 1)")
        let substituted = try expression.substituting { $0 == "n" ? .int(10) : nil }
        #expect(substituted == .call("uniform", [.constant(.int(1)), .constant(.int(9))], offset: 0))
    }

    @Test func substitutingReportsDivisionByZero() throws {
        let expression = try ExpressionParser.parse("10 / :n")
        #expect(throws: ExpressionError(offset: 0, message: "division by zero")) {
            try expression.substituting { _ in .int(0) }
        }
    }

    // MARK: Values

    @Test func bindTextOfValues() {
        #expect(Value.int(42).bindText == "42")
        #expect(Value.double(2.0).bindText == "2")
        #expect(Value.double(2.5).bindText == "2.5")
        #expect(Value.bool(true).bindText == "true")
        #expect(Value.string("x'y").bindText == "x'y")
        #expect(Value.null.bindText == nil)
    }

    @Test func parseTextRecognisesServerValues() {
        #expect(Value.parse(text: "12") == .int(12))
        #expect(Value.parse(text: "100000.00") == .double(100_000))
        #expect(Value.parse(text: "1e3") == .double(1000))
        #expect(Value.parse(text: "t") == .bool(true))
        #expect(Value.parse(text: "false") == .bool(false))
        #expect(Value.parse(text: "abc") == .string("abc"))
        #expect(Value.parse(text: nil) == .null)
    }

    @Test func integerAcceptsWholeDoublesOnly() {
        #expect(Value.double(3.0).integer == 3)
        #expect(Value.double(3.5).integer == nil)
        #expect(Value.string("3").integer == nil)
    }
}
