import Foundation
import Testing
import TestSupport
@testable import Engine

/// Choosing the embedded server's binaries (`--pg-bin`, `LOCKSTORM_PG_BINDIR`):
/// a directory without the server programs is refused with what is missing.
@Suite("the embedded server's binaries directory")
struct EmbeddedServerBinTests {
    private func scratch() throws -> String {
        let path = "/tmp/lst-bin-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    private func message(_ body: () throws -> String) -> String {
        do {
            let result = try body()
            return "accepted \(result)"
        } catch {
            return "\(error)"
        }
    }

    @Test("a missing directory, a file, or a directory without the programs is refused, naming what is missing")
    func refusals() throws {
        let root = try scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(message { try EmbeddedServer.checkBinDirectory(root + "/nowhere", source: "--pg-bin") } == "--pg-bin \(root)/nowhere: no such directory")
        try "x".write(toFile: root + "/file", atomically: true, encoding: .utf8)
        #expect(message { try EmbeddedServer.checkBinDirectory(root + "/file", source: "--pg-bin") }
            == "--pg-bin \(root)/file: not a directory; give the directory holding PostgreSQL's server programs (initdb, pg_ctl, postgres)")
        // pg_ctl and postgres there, initdb not executable: initdb is named as missing.
        for program in ["pg_ctl", "postgres", "initdb"] {
            FileManager.default.createFile(atPath: root + "/" + program, contents: Data("#!/bin/sh\n".utf8), attributes: [.posixPermissions: program == "initdb" ? 0o644 : 0o755])
        }
        #expect(message { try EmbeddedServer.checkBinDirectory(root, source: "LOCKSTORM_PG_BINDIR") }.hasPrefix("LOCKSTORM_PG_BINDIR \(root): no initdb there; give the directory"))
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: root + "/initdb")
        // Complete: the path comes back absolute, without a trailing slash.
        #expect(message { try EmbeddedServer.checkBinDirectory(root + "/", source: "--pg-bin") } == "accepted \(root)")
    }

    @Test("LOCKSTORM_PG_BINDIR is used when set, and refused (not silently skipped) when wrong")
    func environmentVariable() throws {
        let root = try scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(message { try EmbeddedServer.findBinDirectory(environment: ["LOCKSTORM_PG_BINDIR": root]) }
            .hasPrefix("LOCKSTORM_PG_BINDIR \(root): no initdb, pg_ctl, postgres there"))
        for program in EmbeddedServer.serverPrograms {
            FileManager.default.createFile(atPath: root + "/" + program, contents: Data("#!/bin/sh\n".utf8), attributes: [.posixPermissions: 0o755])
        }
        #expect(message { try EmbeddedServer.findBinDirectory(environment: ["LOCKSTORM_PG_BINDIR": root]) } == "accepted \(root)")
    }

    @Test("the version comes from the binaries themselves", .disabled(if: TestServer.skipped, "LOCKSTORM_SKIP_DB_TESTS=1"))
    func version() throws {
        let directory = try EmbeddedServer.findBinDirectory(environment: [:])
        let version = try #require(EmbeddedServer.version(binDirectory: directory))
        let major = try #require(Int(version.prefix { $0.isNumber }))
        #expect(major >= 10, "\(version)")
        #expect(EmbeddedServer.version(binDirectory: "/nonexistent") == nil)
    }
}
