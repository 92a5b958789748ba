import Foundation
import LockstormCore
import Testing
@testable import Reports

@Suite struct ResultFilesTests {
    // MARK: CSV parsing

    @Test func quotedFieldsKeepTheirCommas() throws {
        let table = try CSVTable.parse("a,b\n\"x,y\",2\n", file: "t.csv")
        #expect(table.header == ["a", "b"])
        #expect(table.records.map(\.fields) == [["x,y", "2"]])
    }

    @Test func doubledQuotesBecomeOneQuote() throws {
        let table = try CSVTable.parse("a,b\n\"say \"\"hi\"\"\",\"\"\"\"\n", file: "t.csv")
        #expect(table.records.map(\.fields) == [["say \"hi\"", "\""]])
    }

    @Test func quotedLineBreaksStayInTheFieldAndLineNumbersFollow() throws {
        let table = try CSVTable.parse("a,b\n\"two\nlines\",1\nplain,2\n", file: "t.csv")
        #expect(table.records.map(\.fields) == [["two\nlines", "1"], ["plain", "2"]])
        #expect(table.records.map(\.line) == [2, 4])
    }

    @Test func crlfLineEndingsAreTolerated() throws {
        let table = try CSVTable.parse("a,b\r\n1,2\r\n\"x\r\ny\",3\r\n", file: "t.csv")
        #expect(table.header == ["a", "b"])
        #expect(table.records.map(\.fields) == [["1", "2"], ["x\r\ny", "3"]])
    }

    @Test func emptyFieldsBlankLinesBOMAndAMissingFinalNewline() throws {
        let table = try CSVTable.parse("\u{FEFF}a,b,c\n\n1,,\n,\"\",x", file: "t.csv")
        #expect(table.header == ["a", "b", "c"])
        #expect(table.records.map(\.fields) == [["1", "", ""], ["", "", "x"]])
        #expect(table.records.map(\.line) == [3, 4])
    }

    @Test func theCSVWriterRoundTrips() throws {
        let rows = [["plain", "a,b", "say \"hi\"", "two\nlines", "", "cr\rlf"]]
        let text = CSV.document(header: ["1", "2", "3", "4", "5", "6"], rows: rows)
        #expect(try CSVTable.parse(text, file: "t.csv").records.map(\.fields) == rows)
    }

    @Test func anUnterminatedQuoteIsReportedWhereItOpens() {
        let error = #expect(throws: ResultFilesError.self) { try CSVTable.parse("a,b\n1,2\n\"open,3\n4,5\n", file: "x.csv") }
        #expect(error?.file == "x.csv")
        #expect(error?.line == 3)
        #expect(error?.description.hasPrefix("x.csv:3: ") == true)
        #expect(error?.message.contains("never closed") == true)
    }

    @Test func textAfterAClosingQuoteIsAnError() {
        let error = #expect(throws: ResultFilesError.self) { try CSVTable.parse("a,b\n\"x\"y,2\n", file: "x.csv") }
        #expect(error?.line == 2)
        #expect(error?.message.contains("'y'") == true)
    }

    @Test func aRowWithTheWrongNumberOfFieldsNamesItsLine() {
        let error = #expect(throws: ResultFilesError.self) { try CSVTable.parse("a,b,c\n1,2,3\n4,5\n", file: "x.csv") }
        #expect(error?.description == "x.csv:3: 2 field(s), but the header on line 1 has 3")
    }

    @Test func anEmptyFileHasNoHeader() {
        let error = #expect(throws: ResultFilesError.self) { try CSVTable.parse("", file: "x.csv") }
        #expect(error?.message.contains("header") == true)
    }

    // MARK: Typed files

    @Test func aMissingRequiredColumnIsNamed() {
        let text = "workload,variant,transaction,attempts,committed,failed\nw,v,total,1,1,0\n"
        let error = #expect(throws: ResultFilesError.self) { try ResultFiles.parse(summary: text) }
        #expect(error?.file == "summary.csv")
        #expect(error?.line == 1)
        #expect(error?.message.contains("missing column \"tps\"") == true)
    }

    @Test func aNonNumberInANumberColumnNamesFileLineAndColumn() {
        let text = ResultFixtures.summary.replacingOccurrences(of: ",949.47,", with: ",fast,")
        let error = #expect(throws: ResultFilesError.self) { try ResultFiles.parse(summary: text) }
        #expect(error?.description == "summary.csv:2: column \"tps\": expected a number, found \"fast\"")
    }

    @Test func columnsAreFoundByNameNotPosition() throws {
        let table = try CSVTable.parse(ResultFixtures.summary, file: "summary.csv")
        let reversed = CSV.document(header: table.header.reversed(), rows: table.records.map { $0.fields.reversed() })
        let original = try ResultFiles.parse(summary: ResultFixtures.summary).summary
        let shuffled = try ResultFiles.parse(summary: reversed).summary
        #expect(original.map(\.transaction) == ["transfer", "audit_read", "total"])
        #expect(shuffled.map(\.transaction) == original.map(\.transaction))
        #expect(shuffled.map(\.tps) == original.map(\.tps))
        #expect(shuffled.map(\.p99Milliseconds) == original.map(\.p99Milliseconds))
        #expect(shuffled.map(\.errorCounts) == original.map(\.errorCounts))
    }

    @Test func optionalColumnsMayBeAbsentAndUnknownOnesAreIgnored() throws {
        let text = "transaction,attempts,committed,failed,tps,deadlocks,future_column\ntotal,10,8,2,4.5,2,whatever\n"
        let row = try #require(try ResultFiles.parse(summary: text).summary.first)
        #expect(row.transaction == "total")
        #expect(row.tps == 4.5)
        #expect(row.errorCounts == [.deadlock: 2])
        #expect(row.p50Milliseconds == nil)
        #expect(row.retries == nil)
        #expect(row.workload == nil)
    }

    // MARK: Directories

    @Test func aFullResultDirectoryLoads() throws {
        let directory = try ResultFixtures.directory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let files = try ResultFiles.load(directory: directory)
        #expect(files.directory == directory)

        #expect(files.summary.count == 3)
        let total = try #require(files.summary.last)
        #expect(total.isTotal)
        #expect(total.workload == "transfers")
        #expect(total.variant == "unordered")
        #expect(total.clients == 16)
        #expect(total.attempts == 11_633)
        #expect(total.committed == 11_564)
        #expect(total.failed == 69)
        #expect(total.errorCounts[.deadlock] == 57)
        #expect(total.errorCounts[.lockNotAvailable] == 12)
        #expect(total.tps == 1217.26)
        #expect(total.p99Milliseconds == 76.004)
        #expect(total.maxMilliseconds == 502.317)

        let intervals = try #require(files.timeseries)
        #expect(intervals.count == 10)
        #expect(intervals.map(\.interval) == Array(0..<10))
        #expect(intervals[3].errorsPerSecond(.deadlock) == 19)
        #expect(intervals[9].length == 0.5)
        #expect(intervals[9].tps == 1310)
        #expect(intervals[4].p99Milliseconds == 212.6)

        let latency = try #require(files.latency)
        #expect(latency.count == 3 * LatencySpectrum.percentiles.count)
        #expect(Set(latency.map(\.transaction)) == ["transfer", "audit_read", "total"])
        #expect(latency.first { $0.transaction == "total" && $0.percentile == 100 }?.latencyMilliseconds == 502.317)

        let errors = try #require(files.errors)
        #expect(errors.map(\.sqlState) == ["40P01", "55P03"])
        #expect(errors.map(\.errorClass) == [.deadlock, .lockNotAvailable])
        #expect(errors[0].sampleDetail.contains("90817; blocked by process 48220.\nProcess 48220"))
        #expect(errors[1].sampleMessage == "could not obtain lock on row in relation \"accounts\"")
        #expect(errors[1].sampleDetail == "")

        let run = try #require(files.run)
        #expect(run.schemaVersion == 1)
        #expect(run.workloadName == "transfers")
        #expect(run.workload?.sha256?.count == 64)
        #expect(run.variant == "unordered")
        #expect(run.clients == 16)
        #expect(run.threads == 2)
        #expect(run.seed == 42)
        #expect(run.requestedDurationSeconds == 10)
        #expect(run.transactionsPerClient == nil)
        #expect(run.measuredDurationSeconds == 9.5)
        #expect(run.partial == false)
        #expect(run.server?.version == "17.2")
        #expect(run.server?.settings?.keys.sorted() == ["deadlock_timeout", "default_transaction_isolation", "lock_timeout", "max_connections"])
        #expect(run.parameters == ["accounts": .int(1000), "amount_max": .int(100), "skew": .double(0.8)])
        #expect(run.parameters?.values.map(\.description).sorted() == ["0.8", "100", "1000"])
        #expect(run.deadlocks == RunRecord.DeadlockCheck(client: 57, serverDelta: 57, agree: true))
        #expect(run.peakRSSBytes == 50_593_792)
        #expect(run.invariants?.map(\.name) == ["total balance is conserved", "no negative balances"])
        #expect(run.invariants?.map(\.passed) == [true, true])
        #expect(run.commandLine?.hasPrefix("lockstorm run transfers") == true)
    }

    @Test func onlySummaryIsRequired() throws {
        let directory = try ResultFixtures.directory(timeseries: nil, latency: nil, errors: nil, run: nil)
        defer { try? FileManager.default.removeItem(at: directory) }
        let files = try ResultFiles.load(directory: directory)
        #expect(files.summary.count == 3)
        #expect(files.timeseries == nil)
        #expect(files.latency == nil)
        #expect(files.errors == nil)
        #expect(files.run == nil)
    }

    @Test func aMissingSummaryIsAnErrorNamingIt() throws {
        let directory = try ResultFixtures.directory(summary: nil)
        defer { try? FileManager.default.removeItem(at: directory) }
        let error = #expect(throws: ResultFilesError.self) { try ResultFiles.load(directory: directory) }
        #expect(error?.file == directory.appendingPathComponent("summary.csv").path)
        #expect(error?.message.hasPrefix("missing") == true)
    }

    @Test func aMissingDirectoryIsAnError() {
        let nowhere = FileManager.default.temporaryDirectory.appendingPathComponent("lockstorm-no-such-\(UUID().uuidString)")
        let error = #expect(throws: ResultFilesError.self) { try ResultFiles.load(directory: nowhere) }
        #expect(error?.message == "no such directory")
    }

    @Test func aMalformedOptionalFileIsAnErrorWithItsPathAndLine() throws {
        let broken = ResultFixtures.timeseries.replacingOccurrences(of: "4,4.000,5.000,873.00", with: "4,4.000,5.000,\"873.00")
        let directory = try ResultFixtures.directory(timeseries: broken)
        defer { try? FileManager.default.removeItem(at: directory) }
        let error = #expect(throws: ResultFilesError.self) { try ResultFiles.load(directory: directory) }
        #expect(error?.file == directory.appendingPathComponent("timeseries.csv").path)
        #expect(error?.line == 6)
    }

    // MARK: run.json

    @Test func runJSONWithFewKeysLoads() throws {
        let run = try #require(try ResultFiles.parse(summary: ResultFixtures.summary, run: #"{"clients": 4, "partial": true}"#).run)
        #expect(run.clients == 4)
        #expect(run.partial == true)
        #expect(run.threads == nil)
        #expect(run.server == nil)
        #expect(run.invariants == nil)
        #expect(run.deadlocks == nil)
    }

    @Test func invalidJSONIsAnErrorNamingTheFile() {
        let error = #expect(throws: ResultFilesError.self) {
            try ResultFiles.parse(summary: ResultFixtures.summary, run: "{\n  \"clients\": 4,\n  oops\n}")
        }
        #expect(error?.file == "run.json")
        #expect(error?.message.hasPrefix("not valid JSON") == true)
    }

    @Test func aWrongTypeNamesTheKey() {
        let error = #expect(throws: ResultFilesError.self) {
            try ResultFiles.parse(summary: ResultFixtures.summary, run: #"{"deadlocks": {"client": "many"}}"#)
        }
        #expect(error?.description.hasPrefix("run.json: \"deadlocks.client\" should be an integer") == true, "\(String(describing: error))")
    }

    @Test func aTopLevelArrayIsRejected() {
        let error = #expect(throws: ResultFilesError.self) { try ResultFiles.parse(summary: ResultFixtures.summary, run: "[1, 2]") }
        #expect(error?.message.contains("expected a JSON object") == true)
    }

    @Test func largeSeedsAndNullsSurvive() throws {
        let text = #"{"seed": 18446744073709551615, "requested_duration_s": null, "transactions_per_client": 500, "invariants": [{"name": "n", "expected": null, "actual": null, "passed": false, "error": "relation \"x\" does not exist"}]}"#
        let run = try #require(try ResultFiles.parse(summary: ResultFixtures.summary, run: text).run)
        #expect(run.seed == 18_446_744_073_709_551_615)
        #expect(run.requestedDurationSeconds == nil)
        #expect(run.transactionsPerClient == 500)
        #expect(run.invariants?.first?.expected == nil)
        #expect(run.invariants?.first?.actual == nil)
        #expect(run.invariants?.first?.error == "relation \"x\" does not exist")
    }
}
