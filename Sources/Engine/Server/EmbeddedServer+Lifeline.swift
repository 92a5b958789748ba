#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

extension EmbeddedServer {
    /// The watcher shell of an embedded server: it makes the server's
    /// directory, then waits on a pipe only lockstorm writes to. When
    /// lockstorm stops the server itself it sends `done` and the shell exits;
    /// when lockstorm dies without stopping it (SIGKILL, a crash, the OOM
    /// killer, at any moment of the start-up) the kernel closes the pipe,
    /// the shell reads end-of-file, ends the helpers in its process group
    /// (lockstorm runs `initdb` and `pg_ctl` there), stops the server and
    /// deletes the directory. It deletes only the directory it made itself.
    struct Lifeline: Sendable {
        let pid: pid_t
        /// lockstorm's end of the pipe the shell reads (close-on-exec: no helper or server may hold it).
        let descriptor: Int32

        enum Start {
            case created(Lifeline)
            /// The name is taken: try another.
            case exists
            /// No pipe, no shell, or the shell could not make the directory: make it without a lifeline.
            case unavailable
        }

        /// Starts a lifeline that makes `directory` (mode 0700) and watches over it.
        static func start(directory: String, binDirectory: String, runAs: String?) -> Start {
            var input: [Int32] = [-1, -1]
            var reply: [Int32] = [-1, -1]
            // Close-on-exec at once (Glibc's Swift module has no pipe2): only the
            // shell gets its ends, through dup2, which clears the flag.
            guard pipe(&input) == 0 else { return .unavailable }
            guard pipe(&reply) == 0 else {
                close(input[0])
                close(input[1])
                return .unavailable
            }
            for descriptor in input + reply { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
            let devNull = open("/dev/null", O_WRONLY | O_CLOEXEC)
            let script = Self.script(directory: directory, stopCommand: stopCommand(directory: directory, binDirectory: binDirectory, runAs: runAs))
            let pid = try? Spawn.start(
                ["/bin/sh", "-c", script], standardInput: input[0], standardOutput: reply[1], standardError: devNull >= 0 ? devNull : reply[1],
                ownProcessGroup: true
            )
            close(input[0])
            close(reply[1])
            if devNull >= 0 { close(devNull) }
            guard let pid else {
                close(input[1])
                close(reply[0])
                return .unavailable
            }
            let answer = readLine(reply[0])
            close(reply[0])
            let lifeline = Lifeline(pid: pid, descriptor: input[1])
            guard answer == "created" else {
                lifeline.reap()
                return answer == "exists" ? .exists : .unavailable
            }
            return .created(lifeline)
        }

        /// The shell's script. It ignores SIGHUP, SIGINT and SIGTERM (a
        /// Ctrl-C meant for lockstorm, or lockstorm ending its helpers with
        /// SIGTERM, must not end it), and SIGPIPE: when lockstorm dies
        /// between starting the shell and reading its answer, the answer
        /// fails to arrive but the shell carries on, reads end-of-file and
        /// cleans up (seen: a directory left by a kill 15 ms after start).
        /// At end-of-file it sends SIGTERM to its
        /// process group (the helpers: initdb then removes what it made),
        /// waits for a postmaster `pg_ctl start` may have forked to write its
        /// PID file, stops the server, deletes the directory (again while
        /// something still writes into it, up to 15 s), and finally SIGKILLs
        /// whatever is left in its group, itself last.
        static func script(directory: String, stopCommand: String) -> String {
            let data = directory + "/data"
            return """
                trap '' HUP INT TERM PIPE
                if [ -e '\(directory)' ]; then echo exists; exit 1; fi
                mkdir -m 0700 '\(directory)' || { echo failed; exit 1; }
                echo created 2>/dev/null
                exec >/dev/null
                while read -r line; do [ "$line" = done ] && exit 0; done
                kill -TERM 0
                sleep 0.2
                i=0
                while [ -e '\(directory)' ] && [ $i -lt 150 ]; do
                  if [ -f '\(data)/postmaster.pid' ]; then \(stopCommand); fi
                  rm -rf '\(directory)'
                  if [ -e '\(directory)' ]; then sleep 0.1; fi
                  i=$((i+1))
                done
                kill -KILL 0
                """
        }

        /// `pg_ctl stop -m immediate` for the server in `directory`, as `runAs`.
        static func stopCommand(directory: String, binDirectory: String, runAs: String?) -> String {
            let command = "'\(binDirectory)/pg_ctl' -D '\(directory)/data' -m immediate -w -t 20 stop"
            guard let runAs else { return command }
            return "\(ProcessRunner.runuser) -u \(runAs) -- \(command)"
        }

        /// Tells the shell to exit without cleaning up, and reaps it.
        func dismiss() {
            // A shell that is gone already (killed) would answer the write with SIGPIPE.
            if (try? Spawn.wait(pid, block: false)) ?? nil == nil {
                _ = write(descriptor, "done\n", 5)
            }
            reap()
        }

        /// Closes lockstorm's end and waits (up to 2 s) for the shell to exit.
        func reap() {
            close(descriptor)
            for _ in 0..<200 {
                do {
                    if try Spawn.wait(pid, block: false) != nil { return }
                } catch {
                    return  // reaped already
                }
                usleep(10_000)
            }
        }

        /// One line from `descriptor` (without its newline), or what came before end-of-file.
        private static func readLine(_ descriptor: Int32) -> String {
            var bytes: [UInt8] = []
            var byte: UInt8 = 0
            while bytes.count < 64 {
                let count = read(descriptor, &byte, 1)
                if count < 0 && errno == EINTR { continue }
                guard count == 1, byte != 10 else { break }
                bytes.append(byte)
            }
            return String(decoding: bytes, as: UTF8.self)
        }
    }
}
