import Foundation
import Testing
@testable import Reports

@Suite struct RunRecordTimeTests {
    /// run.json's times are written without Foundation's formatter; they must
    /// read exactly as `ISO8601DateFormatter` wrote them.
    @Test func iso8601AgreesWithFoundationsFormatter() {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var state: UInt64 = 12_345
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 11
        }
        // Whole seconds, milliseconds, fractions near a millisecond's edge, a leap day, years 1970–2100.
        var seconds: [Double] = [0, 0.001, 0.0005, 0.999, 0.9999, 59.999, 951_782_400, 951_868_799.9995, 1_795_459_512.345, 1_795_459_512.0004, 4_102_444_799.999]
        for _ in 0..<20_000 {
            let whole = Double(next() % 4_102_444_800)
            let fraction = Double(next() % 1_000_000) / 1_000_000
            seconds.append(whole + fraction)
            // Half a millisecond, just below and just above.
            let half = (Double(next() % 1_000) + 0.5) / 1_000
            seconds += [whole + half, whole + half - 1e-7, whole + half + 1e-7]
        }
        for value in seconds {
            let date = Date(timeIntervalSince1970: value)
            #expect(RunRecord.iso8601(date) == formatter.string(from: date), "\(value)")
        }
        // And dates made as the run makes them.
        let now = Date()
        #expect(RunRecord.iso8601(now) == formatter.string(from: now))
    }
}
