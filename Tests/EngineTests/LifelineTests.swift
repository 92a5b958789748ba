import Foundation
import Testing
@testable import Engine

/// The embedded server's lifeline, without a server: it makes the directory,
/// leaves a directory it did not make alone, and when its pipe closes ends
/// the helpers in its process group and deletes the directory.
@Suite("the lifeline shell", .serialized)
struct LifelineTests {
    private func scratch() throws -> String {
        let path = "/tmp/lst-life-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    private func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    private func eventually(_ timeout: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }

    @Test("it makes the directory (0700), and dismissed it leaves the directory be")
    func makesTheDirectoryAndIsDismissed() throws {
        let root = try scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        guard case .created(let lifeline) = EmbeddedServer.Lifeline.start(directory: root + "/server", binDirectory: "/nonexistent", runAs: nil) else {
            Issue.record("no lifeline")
            return
        }
        let attributes = try FileManager.default.attributesOfItem(atPath: root + "/server")
        #expect(attributes[.posixPermissions] as? Int == 0o700)
        lifeline.dismiss()
        usleep(300_000)
        #expect(exists(root + "/server"), "a dismissed lifeline deleted the directory")
    }

    @Test("a directory it did not make is never its to delete")
    func leavesAnExistingDirectoryAlone() throws {
        let root = try scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/taken", withIntermediateDirectories: false)
        try "keep\n".write(toFile: root + "/taken/file", atomically: true, encoding: .utf8)
        guard case .exists = EmbeddedServer.Lifeline.start(directory: root + "/taken", binDirectory: "/nonexistent", runAs: nil) else {
            Issue.record("the lifeline took a directory that existed")
            return
        }
        usleep(300_000)
        #expect(exists(root + "/taken/file"))
    }

    @Test("when its pipe closes it ends the helpers in its group, however busy, and deletes the directory")
    func endsHelpersAndDeletesOnEndOfFile() throws {
        let root = try scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let directory = root + "/server"
        guard case .created(let lifeline) = EmbeddedServer.Lifeline.start(directory: directory, binDirectory: "/nonexistent", runAs: nil) else {
            Issue.record("no lifeline")
            return
        }
        // A helper that keeps writing into the directory, as initdb does, in the lifeline's group.
        let output = try Spawn.scratchFile()
        defer { close(output) }
        let helper = try Spawn.start(
            ["/bin/sh", "-c", "mkdir -p '\(directory)/data'; i=0; while true; do i=$((i+1)); echo x > '\(directory)/data/f'$i 2>/dev/null; sleep 0.01; done"],
            standardOutput: output, standardError: output, ownProcessGroup: true, joining: lifeline.pid
        )
        #expect(try Spawn.processGroup(of: helper) == lifeline.pid)
        usleep(200_000)
        #expect(exists(directory + "/data/f1"))
        // lockstorm "dies": its end of the pipe closes.
        close(lifeline.descriptor)
        #expect(try Spawn.wait(helper) != nil)
        #expect(eventually(10) { !exists(directory) }, "left: \((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])")
        #expect(eventually(10) { (try? Spawn.wait(lifeline.pid, block: false)) ?? nil != nil }, "the lifeline did not exit")
        #expect(exists(root), "the lifeline deleted more than its directory")
    }

    @Test("its script quotes what it is given and stops the server as the server's user")
    func script() {
        let stop = EmbeddedServer.Lifeline.stopCommand(directory: "/tmp/lockstorm-Ab12Cd", binDirectory: "/usr/lib/postgresql/15/bin", runAs: "postgres")
        #expect(stop.hasSuffix("-u postgres -- '/usr/lib/postgresql/15/bin/pg_ctl' -D '/tmp/lockstorm-Ab12Cd/data' -m immediate -w -t 20 stop"))
        let script = EmbeddedServer.Lifeline.script(directory: "/tmp/lockstorm-Ab12Cd", stopCommand: stop)
        #expect(script.contains("mkdir -m 0700 '/tmp/lockstorm-Ab12Cd'"))
        #expect(script.contains("if [ -f '/tmp/lockstorm-Ab12Cd/data/postmaster.pid' ]; then \(stop); fi"))
        #expect(script.contains("rm -rf '/tmp/lockstorm-Ab12Cd'"))
    }

    @Test("lockstorm dead before it reads the shell's answer: the answer cannot be delivered, and the shell still cleans up")
    func answerToNoOneStillCleansUp() throws {
        let root = try scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let directory = root + "/server"
        let script = EmbeddedServer.Lifeline.script(directory: directory, stopCommand: "true")
        // As after a SIGKILL between starting the shell and reading its answer:
        // nobody holds the answer pipe's read end, nor the input's write end.
        var input: [Int32] = [-1, -1]
        var answer: [Int32] = [-1, -1]
        try #require(pipe(&input) == 0 && pipe(&answer) == 0)
        close(input[1])
        close(answer[0])
        let pid = try Spawn.start(["/bin/sh", "-c", script], standardInput: input[0], standardOutput: answer[1], standardError: answer[1], ownProcessGroup: true)
        close(input[0])
        close(answer[1])
        var status: Int32 = 0
        #expect(eventually(10) { waitpid(pid, &status, WNOHANG) == pid })
        // Killed by SIGPIPE at `echo created`, the shell would leave the directory it had just made.
        #expect(!exists(directory), "the directory was left behind")
    }
}

