import Foundation
import Testing
@testable import LockstormApp

@Suite struct ResultDirectoryTests {
    static let date = Date(timeIntervalSince1970: 1_795_459_512)  // 2026-11-23T18:45:12Z

    /// A fresh directory under the system's temporary directory, removed afterwards.
    static func withTemporaryRoot(_ body: (URL) throws -> Void) throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("lockstorm-app-tests-\(UUID().uuidString)", isDirectory: true)
        defer { try? FileManager.default.removeItem(at: root) }
        try body(root)
    }

    @Test func timestampIsCompactUTC() {
        #expect(ResultDirectory.timestamp(Self.date) == "20261123T184512Z")
        #expect(ResultDirectory.timestamp(Date(timeIntervalSince1970: 0)) == "19700101T000000Z")
    }

    @Test func timestampAgreesWithFoundationsUTCCalendar() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        func reference(_ date: Date) -> String {
            let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
            func two(_ value: Int?) -> String { let text = String(value ?? 0); return text.count < 2 ? "0" + text : text }
            return "\(parts.year ?? 0)\(two(parts.month))\(two(parts.day))T\(two(parts.hour))\(two(parts.minute))\(two(parts.second))Z"
        }
        // Fractions of a second, a leap day, the ends of years and days, far ahead.
        let seconds: [Double] = [0, 0.999, 59.5, 951_782_400, 951_868_799.75, 1_709_164_800.25, 1_767_225_599.999_9, 1_795_459_512.5, 4_102_444_800, 32_503_680_000.1]
        for value in seconds + (0..<50).map({ Double($0) * 86_399.37 * 97 + 0.6 }) {
            let date = Date(timeIntervalSince1970: value)
            #expect(ResultDirectory.timestamp(date) == reference(date), "\(value)")
        }
    }

    @Test("the time zone does not change a folder's name")
    func namesIgnoreTheLocalTimeZone() {
        let before = ResultDirectory.name(.fuzz(workload: "transfers", variant: "unordered"), date: Self.date)
        setenv("TZ", "America/Los_Angeles", 1)
        tzset()
        defer { unsetenv("TZ"); tzset() }
        #expect(ResultDirectory.name(.fuzz(workload: "transfers", variant: "unordered"), date: Self.date) == before)
        #expect(before == "fuzz-transfers-unordered-20261123T184512Z")
    }

    @Test func runCompareAndFuzzAreNamedAlike() {
        #expect(ResultDirectory.name(.run(workload: "transfers", variant: "ordered"), date: Self.date) == "transfers-ordered-20261123T184512Z")
        #expect(ResultDirectory.name(.compare(workload: "transfers", sweeps: ["clients", "accounts"]), date: Self.date) == "compare-transfers-clients-accounts-20261123T184512Z")
        #expect(ResultDirectory.name(.compare(workload: "transfers", sweeps: []), date: Self.date) == "compare-transfers-variants-20261123T184512Z")
        #expect(ResultDirectory.name(.fuzz(workload: "transfers", variant: "unordered"), date: Self.date) == "fuzz-transfers-unordered-20261123T184512Z")
    }

    @Test func unsafeCharactersInNamesAreReplaced() {
        #expect(ResultDirectory.name(.run(workload: "my workload/v2", variant: ""), date: Self.date) == "my_workload_v2-run-20261123T184512Z")
    }

    @Test("a second folder of the same name and second gets -2, a third -3")
    func sameNameNeverOverwritesAnEarlierRun() throws {
        try Self.withTemporaryRoot { root in
            let kind = ResultDirectory.Kind.run(workload: "w", variant: "v")
            let first = try ResultDirectory.create(kind, root: root.appendingPathComponent("results"), date: Self.date)
            let second = try ResultDirectory.create(kind, root: root.appendingPathComponent("results"), date: Self.date)
            let third = try ResultDirectory.create(kind, root: root.appendingPathComponent("results"), date: Self.date)
            #expect(first.lastPathComponent == "w-v-20261123T184512Z")
            #expect(second.lastPathComponent == "w-v-20261123T184512Z-2")
            #expect(third.lastPathComponent == "w-v-20261123T184512Z-3")
            var isDirectory: ObjCBool = false
            #expect(FileManager.default.fileExists(atPath: third.path, isDirectory: &isDirectory) && isDirectory.boolValue)
        }
    }

    @Test func theSuffixRuleIsTheSameForEveryKind() {
        #expect(ResultDirectory.name(.fuzz(workload: "t", variant: "u"), date: Self.date, attempt: 1) == "fuzz-t-u-20261123T184512Z")
        #expect(ResultDirectory.name(.fuzz(workload: "t", variant: "u"), date: Self.date, attempt: 2) == "fuzz-t-u-20261123T184512Z-2")
    }

    @Test func pathsUnderTheCurrentDirectoryAreShownRelative() {
        #expect(DisplayPath.relative("/work/x/results/a", to: "/work/x") == "results/a")
        #expect(DisplayPath.relative("/work/x/results/a", to: "/work/x/") == "results/a")
        #expect(DisplayPath.relative("/other/results/a", to: "/work/x") == "/other/results/a")
        #expect(DisplayPath.relative("/work/xy/a", to: "/work/x") == "/work/xy/a")
    }
}
