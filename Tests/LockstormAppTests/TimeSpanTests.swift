import Testing
import LockstormCore
@testable import LockstormApp

@Suite struct TimeSpanTests {
    @Test("a bare number is seconds, as in pgbench", arguments: [("10", 10.0), ("0.5", 0.5), ("0", 0.0), ("3600", 3600.0)])
    func bareNumberIsSeconds(text: String, seconds: Double) {
        #expect(TimeSpan(parsing: text)?.seconds == seconds)
    }

    @Test("duration literals carry their unit", arguments: [("30s", 30.0), ("2min", 120.0), ("200ms", 0.2), ("1h", 3600.0), ("500us", 0.0005)])
    func literalsCarryTheirUnit(text: String, seconds: Double) throws {
        let span = try #require(TimeSpan(parsing: text))
        #expect(abs(span.seconds - seconds) < 1e-12)
        #expect(span.description == text)
    }

    @Test("what is not a length of time is refused", arguments: ["ten", "", "-5", "nan", "inf", "30 parsecs", "-2s", "1e400"])
    func nonsenseIsRefused(text: String) {
        #expect(TimeSpan(parsing: text) == nil)
    }

    @Test("zero parses written either way: each flag says whether it means anything", arguments: ["0", "0s", "0ms", "0.0"])
    func zeroParses(text: String) {
        #expect(TimeSpan(parsing: text)?.seconds == 0)
    }

    @Test("a refused length of time says what is allowed", arguments: [
        ("ten", "'ten' is not a length of time: give seconds (10, 2.5) or a duration with a unit (500ms, 30s, 2min, 1h)"),
        ("-5", "a length of time cannot be negative: give seconds (10, 2.5) or a duration with a unit (500ms, 30s, 2min, 1h)"),
        ("-2s", "a length of time cannot be negative: give seconds (10, 2.5) or a duration with a unit (500ms, 30s, 2min, 1h)"),
        ("inf", "'inf' is not a length of time: give seconds (10, 2.5) or a duration with a unit (500ms, 30s, 2min, 1h)"),
    ])
    func refusalsSayWhatIsAllowed(text: String, message: String) {
        #expect(throws: ArgumentValueError.self) { try TimeSpan.parse(text) }
        do {
            _ = try TimeSpan.parse(text)
        } catch {
            #expect(error.description == message)
        }
    }

    @Test("a refused deadlock_timeout says PostgreSQL's minimum", arguments: [
        ("0", "deadlock_timeout must be at least 1ms, PostgreSQL's minimum: milliseconds (100) or a duration (100ms, 1s)"),
        ("0ms", "deadlock_timeout must be at least 1ms, PostgreSQL's minimum: milliseconds (100) or a duration (100ms, 1s)"),
        ("-1", "deadlock_timeout must be at least 1ms, PostgreSQL's minimum: milliseconds (100) or a duration (100ms, 1s)"),
        ("500us", "deadlock_timeout must be at least 1ms, PostgreSQL's minimum: milliseconds (100) or a duration (100ms, 1s)"),
        ("1.5", "'1.5' is not a whole number of milliseconds: give at least 1ms, PostgreSQL's minimum: milliseconds (100) or a duration (100ms, 1s)"),
        ("soon", "'soon' is not a duration: deadlock_timeout must be at least 1ms, PostgreSQL's minimum: milliseconds (100) or a duration (100ms, 1s)"),
    ])
    func deadlockTimeoutRefusalsSayWhatIsAllowed(text: String, message: String) {
        do {
            let parsed = try DeadlockTimeout.parse(text)
            Issue.record("'\(text)' parsed as \(parsed)")
        } catch {
            #expect(error.description == message)
        }
    }

    @Test func defaultsShowAsGiven() {
        #expect(TimeSpan(seconds: 30).description == "30s")
        #expect(TimeSpan(seconds: 0.2, text: "200ms").description == "200ms")
    }

    @Test("deadlock_timeout: a bare number is milliseconds, PostgreSQL's unit", arguments: [("100", 100), ("100ms", 100), ("1s", 1000), ("1ms", 1)])
    func deadlockTimeoutInMilliseconds(text: String, milliseconds: Int) {
        #expect(DeadlockTimeout(parsing: text)?.milliseconds == milliseconds)
    }

    @Test("deadlock_timeout below 1ms or not a duration is refused", arguments: ["0", "-1", "500us", "soon", "1.5"])
    func deadlockTimeoutRefusals(text: String) {
        #expect(DeadlockTimeout(parsing: text) == nil)
    }
}

@Suite struct ParameterOverrideTests {
    @Test func valuesAreTypedOnce() throws {
        let number = try #require(ParameterOverride(parsing: "accounts=50"))
        #expect(number.name == "accounts")
        #expect(number.value == Value.parse(text: "50"))
        let flag = try #require(ParameterOverride(parsing: " verbose =true"))
        #expect(flag.name == "verbose")
        #expect(flag.value == Value.parse(text: "true"))
        let text = try #require(ParameterOverride(parsing: "mode=a=b"))
        #expect(text.name == "mode")
        #expect(text.value == Value.parse(text: "a=b"))
    }

    @Test func anEmptyValueIsAValue() throws {
        let empty = try #require(ParameterOverride(parsing: "label="))
        #expect(empty.value == Value.parse(text: ""))
    }

    @Test("a pair without a name or an = is refused", arguments: ["accounts", "=5", ""])
    func malformedPairsAreRefused(text: String) {
        #expect(ParameterOverride(parsing: text) == nil)
    }

    @Test func pairsKeepTheirOrder() {
        let overrides = ["a=1", "b=2", "a=3"].compactMap(ParameterOverride.init(parsing:))
        #expect(ParameterOverride.pairs(overrides).map(\.name) == ["a", "b", "a"])
    }
}
