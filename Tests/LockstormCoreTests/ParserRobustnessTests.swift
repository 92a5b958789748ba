import Foundation
import Testing
@testable import LockstormCore

/// Parses `text` and returns its diagnostics: whatever the input, the parser
/// must answer (with diagnostics or a workload), never crash or hang.
private func survive(_ text: String) -> [String] {
    diagnostics(text, file: "x.yaml")
}

/// `count` deterministic pseudo-random bytes.
private func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var random = RandomSource(seed: seed)
    return (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
}

/// A workload whose invariant expects `expression`.
private func workload(equals expression: String) -> String {
    """
    name: t
    transactions:
      tx:
        steps: [SELECT 1]
    invariants:
      - name: i
        sql: SELECT 1
        equals: "\(expression)"
    """
}

@Suite struct ParserRobustnessTests {
    @Test func emptyAndBlankInputsAreReported() {
        for text in ["", " ", "\n\n\n", "\u{FEFF}", "---\n", "...\n", "~", "null"] {
            #expect(!survive(text).isEmpty, "\(text.debugDescription)")
        }
    }

    @Test func binaryGarbageIsReportedNotCrashed() {
        for seed in UInt64(0)..<200 {
            let bytes = randomBytes(Int(seed % 50) * 20 + 1, seed: seed)
            #expect(!survive(String(decoding: bytes, as: UTF8.self)).isEmpty)
        }
        // NUL bytes and control characters in an otherwise valid file.
        #expect(survive("name: t\0\ntransactions:\n  tx:\n    steps: [SELECT 1]\n") == ["x.yaml:1:1: cannot read the file as YAML text: control characters are not allowed"])
        #expect(!survive(String(decoding: randomBytes(1 << 16, seed: 42), as: UTF8.self)).isEmpty)
    }

    @Test func deeplyNestedFlowCollectionsAreReported() {
        let depth = 10_000
        #expect(!survive(String(repeating: "[", count: depth) + String(repeating: "]", count: depth)).isEmpty)
        #expect(!survive("name: " + String(repeating: "{a: ", count: depth) + "1" + String(repeating: "}", count: depth)).isEmpty)
        // Unclosed: the scanner runs out of input.
        #expect(!survive(String(repeating: "[", count: 100_000)).isEmpty)
    }

    @Test func deeplyNestedBlockMappingsAreReported() {
        var text = "name: t\ntransactions:\n"
        for level in 1...2_000 { text += String(repeating: " ", count: level) + "a:\n" }
        #expect(!survive(text).isEmpty)
    }

    @Test func deeplyNestedExpressionsAreReported() {
        let depth = 10_000
        // Reported where the 101st level begins: the value starts at column 14 (after its quote).
        let tooDeep = "x.yaml:8:115: the expression nests deeper than 100 levels"
        #expect(survive(workload(equals: String(repeating: "(", count: 200) + "1" + String(repeating: ")", count: 200))) == [tooDeep])
        #expect(survive(workload(equals: String(repeating: "!", count: 200) + "true")) == [tooDeep])
        #expect(survive(workload(equals: String(repeating: "-", count: 200) + "1")) == [tooDeep])
        #expect(survive(workload(equals: String(repeating: "f(", count: 200) + "1" + String(repeating: ")", count: 200))) == [
            "x.yaml:8:216: the expression nests deeper than 100 levels",
        ])
        // Long inputs stop at the 1001st token, nested or not.
        let tooLong = "the expression is too long: more than 1000 tokens"
        #expect(survive(workload(equals: String(repeating: "(", count: depth) + "1" + String(repeating: ")", count: depth))) == ["x.yaml:8:1014: \(tooLong)"])
        #expect(survive(workload(equals: Array(repeating: "1", count: depth).joined(separator: " + "))) == ["x.yaml:8:2014: \(tooLong)"])
        // Within the limits an expression still works.
        #expect(survive(workload(equals: String(repeating: "(", count: 90) + "1" + String(repeating: ")", count: 90))) == [])
        #expect(survive(workload(equals: Array(repeating: "1", count: 400).joined(separator: " + "))) == [])
    }

    @Test func integerOverflowInExpressionsIsReportedNotTrapped() {
        #expect(survive(workload(equals: "-(-9223372036854775807 - 1)")) == [])
        #expect(survive(workload(equals: "(-9223372036854775807 - 1) / -1")) == [])
        #expect(survive(workload(equals: "(-9223372036854775807 - 1) % -1")) == [])
        // Too big for an integer: a double.
        #expect(survive(workload(equals: "99999999999999999999999")) == [])
    }

    @Test func filesUpToTheSizeLimitAreHandledQuicklyAndLargerOnesRefused() throws {
        let clock = ContinuousClock()
        let started = clock.now
        // A valid workload with a setup script just under the 1 MB limit.
        var setup = "setup: |\n"
        let row = "  INSERT INTO t VALUES (1, 'some text to fill the line');\n"
        setup += String(repeating: row, count: (InputLimits.maxFileBytes - 100) / row.utf8.count)
        let big = "name: t\n" + setup + "transactions:\n  tx:\n    steps: [SELECT 1]\n"
        #expect(big.utf8.count > 1_000_000)
        #expect(survive(big) == [])
        // 1 MB on one line, and 1 MB of comments.
        #expect(!survive("name: " + String(repeating: "x", count: InputLimits.maxFileBytes - 10)).isEmpty)
        #expect(!survive(String(repeating: "# a comment line\n", count: InputLimits.maxFileBytes / 17)).isEmpty)
        // 10 MB: refused from its size, before YAML is read.
        let tooBig = "x.yaml:1:1: the file is 9.5 MB, over lockstorm's limit of 1 MB for a workload file; load bulk data from SQL (generate_series, COPY in setup) instead of writing it out"
        #expect(survive(String(repeating: "# a comment line\n", count: 10_000_000 / 17)) == [tooBig])
        let elapsed = clock.now - started
        #expect(elapsed < .seconds(30), "took \(elapsed)")
    }
}
