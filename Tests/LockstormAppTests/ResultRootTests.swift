import Foundation
import Testing
@testable import LockstormApp

/// `--out` where a folder cannot be: the message names the file in the way
/// (issue 20: it said "NSCocoaErrorDomain error 512").
@Suite("where results cannot go")
struct ResultRootTests {
    private func scratch() throws -> String {
        let path = "/tmp/lst-root-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test("a regular file on the way is named, before and at creation")
    func fileInTheWay() throws {
        let root = try scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try "x".write(toFile: root + "/file", atomically: true, encoding: .utf8)
        #expect(ResultDirectory.problem(withRoot: root + "/file/a/b") == "cannot create the results folder \(root)/file/a/b: \(root)/file is a file, not a folder")
        #expect(ResultDirectory.problem(withRoot: root + "/file") == "cannot create the results folder \(root)/file: it is a file, not a folder")
        #expect(ResultDirectory.problem(withRoot: root + "/new/deeper") == nil)
        #expect(!FileManager.default.fileExists(atPath: root + "/new"), "checking created the folder")
        do {
            _ = try ResultDirectory.create(.run(workload: "w", variant: "v"), root: URL(fileURLWithPath: root + "/file/results"))
            Issue.record("created a folder under a file")
        } catch {
            #expect(error.localizedDescription == "cannot create the results folder \(root)/file/results: \(root)/file is a file, not a folder")
        }
        let made = try ResultDirectory.create(.run(workload: "w", variant: "v"), root: URL(fileURLWithPath: root + "/new/deeper"))
        #expect(made.path.hasPrefix(root + "/new/deeper/w-v-"))
    }
}
