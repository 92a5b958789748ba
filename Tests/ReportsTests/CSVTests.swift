import Testing
@testable import Reports

@Suite struct CSVTests {
    @Test func plainFieldsAreNotQuoted() {
        #expect(CSV.field("transfer") == "transfer")
        #expect(CSV.field("") == "")
        #expect(CSV.field("a b;c") == "a b;c")
    }

    @Test func fieldsWithCommasQuotesOrLineBreaksAreQuoted() {
        #expect(CSV.field("a,b") == "\"a,b\"")
        #expect(CSV.field("say \"hi\"") == "\"say \"\"hi\"\"\"")
        #expect(CSV.field("two\nlines") == "\"two\nlines\"")
        #expect(CSV.field("cr\rhere") == "\"cr\rhere\"")
    }

    @Test func lineJoinsFieldsAndEndsWithNewline() {
        #expect(CSV.line(["a", "b,c", "d"]) == "a,\"b,c\",d\n")
        #expect(CSV.line([]) == "\n")
    }

    @Test func documentIsHeaderThenRows() {
        #expect(CSV.document(header: ["x", "y"], rows: [["1", "2"], ["3", "\"4\""]]) == "x,y\n1,2\n3,\"\"\"4\"\"\"\n")
    }
}
