import Foundation
import Testing
@testable import LockstormApp
import Reports

/// `lockstorm merge` takes a shard's result folder, or the `--out` folder
/// that holds it (what the Kubernetes Job passes).
@Suite struct MergeFolderTests {
    func scratch() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("merge-folder-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    func makeResult(_ url: URL) throws {
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: url.appendingPathComponent(ResultFiles.runFile))
    }

    @Test func aResultFolderIsItself() throws {
        let root = try scratch()
        defer { try? FileManager.default.removeItem(at: root) }
        try makeResult(root)
        #expect(try MergePipeline.resultFolder(root.path).path == root.path)
    }

    @Test func anOutFolderHoldingOneResultGivesThatResult() throws {
        let root = try scratch()
        defer { try? FileManager.default.removeItem(at: root) }
        try makeResult(root.appendingPathComponent("transfers-ordered-20261203T120000Z"))
        try FileManager.default.createDirectory(at: root.appendingPathComponent("not-a-result"), withIntermediateDirectories: true)
        #expect(try MergePipeline.resultFolder(root.path).lastPathComponent == "transfers-ordered-20261203T120000Z")
    }

    @Test func severalResultsInsideAreRefusedByName() throws {
        let root = try scratch()
        defer { try? FileManager.default.removeItem(at: root) }
        try makeResult(root.appendingPathComponent("a-1"))
        try makeResult(root.appendingPathComponent("a-2"))
        #expect {
            _ = try MergePipeline.resultFolder(root.path)
        } throws: { error in
            guard let failure = error as? Failure else { return false }
            return failure.status == .usage && failure.message.contains("a-1, a-2") && failure.message.contains("2 result folders")
        }
    }

    @Test func aFolderWithNoResultIsLeftForLoadingToExplain() throws {
        let root = try scratch()
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(try MergePipeline.resultFolder(root.path).path == root.path)
    }
}
