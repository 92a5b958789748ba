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
        #expect(throws: ExpressionError(offset: 0, message: "'uniform(…)' is a random draw and is only allowed as a whole 'let' value; draw it into a variable of its own and use that")) {
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

// MARK: least, greatest, sorted and subscripts

extension ExpressionTests {
    @Test func leastAndGreatestTakeAnyNumberOfValues() throws {
        #expect(try evaluate("least(5)") == .int(5))
        #expect(try evaluate("least(7, 3, 9)") == .int(3))
        #expect(try evaluate("greatest(7, 3, 9)") == .int(9))
        #expect(try evaluate("least(a, b)", ["a": .int(40), "b": .int(2)]) == .int(2))
        #expect(try evaluate("greatest(:a, :b) - least(:a, :b)", ["a": .int(40), "b": .int(2)]) == .int(38))
    }

    @Test func leastComparesIntegersAndDecimalsAsNumbersAndKeepsTheWinnersType() throws {
        #expect(try evaluate("least(2, 1.5)") == .double(1.5))
        #expect(try evaluate("greatest(2, 1.5)") == .int(2))
        // Exactly, not through doubles: these two are the same double.
        #expect(try evaluate("greatest(9007199254740993, 9007199254740992)") == .int(9_007_199_254_740_993))
    }

    @Test func stringsCompareByteByByteAsTheCCollation() throws {
        #expect(try evaluate("least('b', 'a', 'c')") == .string("a"))
        #expect(try evaluate("least('a', 'B')") == .string("B"))
        #expect(try evaluate("greatest('é', 'z')") == .string("é"))
        #expect(try evaluate("least(false, true)") == .bool(false))
    }

    @Test func nullsAreIgnoredAsPostgreSQLDoes() throws {
        #expect(try evaluate("least(null, 4, 2)") == .int(2))
        #expect(try evaluate("greatest(x, 4)", ["x": .null]) == .int(4))
        #expect(try evaluate("least(null, null)") == .null)
    }

    @Test func mixedTypesAreAnErrorThatNamesBoth() throws {
        let error = try #require(throws: ExpressionError.self) { try evaluate("least(1, 'a')") }
        #expect(error.message == "least cannot compare integer 1 with string 'a': give it values of one type")
        #expect(error.offset == 0)
        #expect(throws: ExpressionError.self) { try evaluate("greatest(true, 1)") }
        let none = try #require(throws: ExpressionError.self) { try evaluate("  greatest()") }
        #expect(none.message == "greatest takes at least one value, got none")
        #expect(none.offset == 2)
    }

    @Test func sortedMakesAListInAscendingOrderWithNullsLast() throws {
        #expect(try evaluate("sorted(c, a, b)", ["a": .int(17), "b": .int(3), "c": .int(42)]) == .list([.int(3), .int(17), .int(42)]))
        #expect(try evaluate("sorted(2, null, 1)") == .list([.int(1), .int(2), .null]))
        #expect(try evaluate("sorted('b', 'a')") == .list([.string("a"), .string("b")]))
        #expect(try evaluate("sorted(1.5, 1)") == .list([.int(1), .double(1.5)]))
    }

    @Test func aListBindsAsAPostgreSQLArrayLiteral() {
        #expect(Value.list([.int(3), .int(17), .int(42)]).bindText == "{3,17,42}")
        #expect(Value.list([.int(1), .null, .double(2.5)]).bindText == "{1,NULL,2.5}")
        #expect(Value.list([.string("a b"), .string(#"say "hi" \ bye"#), .string("NULL"), .bool(true)]).bindText == #"{"a b","say \"hi\" \\ bye","NULL","true"}"#)
        #expect(Value.list([]).bindText == "{}")
        #expect(Value.list([.int(1), .int(2)]).description == "[1, 2]")
    }

    @Test func subscriptsCountFromOneAndGiveNullOutsideTheList() throws {
        let values: [String: Value] = ["ids": .list([.int(3), .int(17), .int(42)])]
        #expect(try evaluate("ids[1]", values) == .int(3))
        #expect(try evaluate("ids[3]", values) == .int(42))
        #expect(try evaluate("ids[1 + 1] * 2", values) == .int(34))
        #expect(try evaluate("sorted(9, 4, 6)[2]") == .int(6))
        #expect(try evaluate("ids[0]", values) == .null)
        #expect(try evaluate("ids[4]", values) == .null)
        let strict = try #require(throws: ExpressionError.self) { try ExpressionParser.parse("ids[4]").evaluate(strictIndex: true) { values[$0] } }
        #expect(strict.message == "subscript 4 is outside the list's 3 values (subscripts count from 1, as in PostgreSQL arrays)")
        #expect(strict.offset == 3)
        #expect(throws: ExpressionError.self) { try evaluate("ids['a']", values) }
        #expect(throws: ExpressionError.self) { try evaluate("n[1]", ["n": .int(5)]) }
    }

    @Test func aListIsNotASingleValue() throws {
        let error = try #require(throws: ExpressionError.self) { try evaluate("least(sorted(1, 2), 3)") }
        #expect(error.message == "least takes single values, got a list [1, 2] (subscript it: list[1])")
        #expect(throws: ExpressionError.self) { try evaluate("sorted(1, 2) + 1") }
    }

    @Test func functionsOfConstantsFoldAndDrawsStayCalls() throws {
        let folded = try ExpressionParser.parse("least(:a, 10)").substituting { $0 == "a" ? .int(4) : nil }
        #expect(folded == .constant(.int(4)))
        let open = try ExpressionParser.parse("least(x, 10)").substituting { _ in nil }
        #expect(!open.isConstant)
        let unknown = try #require(throws: ExpressionError.self) { try evaluate("leest(1, 2)") }
        #expect(unknown.message.hasPrefix("unknown function 'leest'; did you mean 'least'?"))
        let draw = try #require(throws: ExpressionError.self) { try evaluate("least(uniform(1, 5), 3)") }
        #expect(draw.message.hasPrefix("'uniform(…)' is a random draw"))
    }

    @Test func unclosedSubscriptIsAParseError() {
        #expect(parseError("ids[1")?.message == "expected ']' after the subscript, found end of expression")
        #expect(parseError("ids[1]]")?.message == "unexpected ']'")
    }
}
