import Foundation
import PostgresClient
import Testing
import TestSupport

@Suite("PostgresConnection against a real server", .serialized, .disabled(if: TestServer.skipped, "LOCKSTORM_SKIP_DB_TESTS=1"))
struct PostgresConnectionTests {
    @Test("values travel as bind parameters and come back unchanged, NULL included")
    func bindParametersRoundTrip() throws {
        try TestServer.with { server in
            let connection = try PostgresConnection(dsn: server.dsn)
            let tricky = "O'Brien; DROP TABLE x; -- $1 :name"
            let result = try connection.execute("SELECT $1::text AS a, $2::int + 1 AS b, $3::text IS NULL AS c", [tricky, "41", nil])
            #expect(result.columns == ["a", "b", "c"])
            #expect(result.rows == [[tricky, "42", "t"]])
            #expect(result.columnTypes == [25, 23, 16])
            #expect(result.value(0, 0) == .text(tricky))
            #expect(result.value(0, 1) == .int(42))
            #expect(result.value(0, 2) == .bool(true))
        }
    }

    @Test("non-blocking send reuses one buffer: values of every size, NULLs and non-ASCII text arrive intact, statement after statement")
    func sendReusesItsParameterBuffer() throws {
        try TestServer.with { server in
            let connection = try PostgresConnection(dsn: server.dsn)
            try connection.setNonBlocking(true)
            // Small, then past the buffer's first 256 bytes half-way through a
            // statement (it grows and moves), then small again in the grown buffer.
            let statements: [[String?]] = [
                ["1", nil, "é€"],
                ["a", String(repeating: "x", count: 300), nil, String(repeating: "ü", count: 200), "z"],
                [nil, "", "7"],
                (0..<40).map { $0 % 3 == 0 ? nil : String($0) },
            ]
            for values in statements {
                let placeholders = values.indices.map { "$\($0 + 1)::text" }.joined(separator: ", ")
                let sql = "SELECT ARRAY[\(placeholders)]::text[] IS NOT DISTINCT FROM $\(values.count + 1)::text[]"
                let arrayLiteral = "{" + values.map { $0.map { "\"\($0)\"" } ?? "NULL" }.joined(separator: ",") + "}"
                try connection.send(sql, parameterCount: values.count + 1) { $0 < values.count ? values[$0] : arrayLiteral }
                while try !connection.flush() {}
                guard case .success(let result) = try connection.drain() else {
                    Issue.record("statement with \(values.count) values failed")
                    continue
                }
                #expect(result.rows == [["t"]], "values: \(values)")
            }
        }
    }

    @Test("column values are decoded by type")
    func typedValues() throws {
        try TestServer.with { server in
            let connection = try PostgresConnection(dsn: server.dsn)
            let result = try connection.execute("SELECT 7::int2, 9000000000::int8, 1.5::float8, false, NULL::int, 12.30::numeric, 'x'::text")
            #expect((0..<7).map { result.value(0, $0) } == [.int(7), .int(9_000_000_000), .double(1.5), .bool(false), .null, .text("12.30"), .text("x")])
        }
    }

    @Test("row counts through the non-blocking path: rows returned, rows affected by the command tag, 0 for tags without one")
    func rowCountsOfResultStatus() throws {
        try TestServer.with { server in
            let connection = try PostgresConnection(dsn: server.dsn)
            try connection.setNonBlocking(true)
            // (statement, its row count): nextResultStatus reads it from the
            // result, execute from the same tag; both must agree.
            let statements: [(String, Int)] = [
                ("CREATE TABLE counted (id int PRIMARY KEY, v int)", 0),
                ("INSERT INTO counted SELECT g, 0 FROM generate_series(1, 5) g", 5),
                ("INSERT INTO counted VALUES (6, 0)", 1),
                ("BEGIN", 0),
                ("SET LOCAL lock_timeout = '5s'", 0),
                ("SELECT id FROM counted WHERE id <= 3 ORDER BY id FOR UPDATE", 3),
                ("SELECT id FROM counted WHERE id > 100", 0),
                ("UPDATE counted SET v = v + 1 WHERE id IN (1, 2)", 2),
                ("UPDATE counted SET v = v + 1 WHERE id = 100", 0),
                ("DECLARE c CURSOR FOR SELECT id FROM counted ORDER BY id", 0),
                ("MOVE 2 IN c", 2),
                ("FETCH 3 FROM c", 3),
                ("CLOSE c", 0),
                ("MERGE INTO counted USING (VALUES (1), (7)) AS s(id) ON counted.id = s.id WHEN MATCHED THEN UPDATE SET v = 9 WHEN NOT MATCHED THEN INSERT VALUES (s.id, 9)", 2),
                ("DELETE FROM counted WHERE id >= 6", 2),
                ("COMMIT", 0),
                // CREATE TABLE AS succeeds without rows, tagged "SELECT 5".
                ("CREATE TABLE copied AS SELECT * FROM counted", 5),
                ("COPY (SELECT id FROM counted) TO '/dev/null'", 5),
                ("SET statement_timeout = 0", 0),
                ("", 0),
            ]
            for (sql, expected) in statements {
                try connection.send(sql, [])
                while try !connection.flush() {}
                var counts: [Int] = []
                var failure: PostgresError?
                try readResults(connection) { status in
                    switch status {
                    case .success(let rowCount): counts.append(rowCount)
                    case .failure(let error): failure = error
                    case .pipelineAborted, .pipelineSync: Issue.record("pipeline result outside a pipeline: \(sql)")
                    }
                }
                #expect(failure == nil, "\(sql): \(failure?.message ?? "")")
                #expect(counts == [expected], "\(sql)")
            }
            // A failure comes back the same way, with its SQLSTATE, and the connection goes on.
            try connection.send("SELECT 1 / $1::int", ["0"])
            while try !connection.flush() {}
            var statuses: [PostgresConnection.ResultStatus] = []
            try readResults(connection) { statuses.append($0) }
            guard statuses.count == 1, case .failure(let error) = statuses[0] else {
                Issue.record("division by zero: \(statuses)")
                return
            }
            #expect(error.sqlState == "22012")
            #expect(error.kind == .server)
            #expect(error.message == "division by zero")

            // The blocking path reads the same counts.
            try connection.setNonBlocking(false)
            try connection.execute("DROP TABLE counted, copied")
            for (sql, expected) in statements {
                #expect(try connection.execute(sql).affectedRows == expected, "\(sql)")
            }
        }
    }

    @Test("row counts in pipeline mode, as a BEGIN sent with its statement reads them")
    func rowCountsInPipelineMode() throws {
        try TestServer.with { server in
            let connection = try PostgresConnection(dsn: server.dsn)
            try connection.executeScript("CREATE TABLE counted (id int PRIMARY KEY, v int); INSERT INTO counted SELECT g, 0 FROM generate_series(1, 4) g;")
            try connection.setNonBlocking(true)
            try connection.enterPipelineMode()
            try connection.send("BEGIN", [])
            try connection.send("UPDATE counted SET v = 1 WHERE id <= $1", ["3"])
            try connection.send("COMMIT", [])
            try connection.pipelineSync()
            while try !connection.flush() {}
            var seen: [String] = []
            try readResults(connection, through: 4) { status in
                switch status {
                case .success(let rowCount): seen.append("success \(rowCount)")
                case .failure(let error): seen.append("failure \(error.message)")
                case .pipelineAborted: seen.append("aborted")
                case .pipelineSync: seen.append("sync")
                }
            }
            #expect(seen == ["success 0", "success 3", "success 0", "sync"])
            try connection.exitPipelineMode()
        }
    }

    @Test("the backend PID is the server's pg_backend_pid()")
    func backendPID() throws {
        try TestServer.with { server in
            let connection = try PostgresConnection(dsn: server.dsn)
            let reported = try connection.execute("SELECT pg_backend_pid()").int(0, 0)
            #expect(reported == Int64(connection.backendPID))
        }
    }

    @Test("a deadlock comes back to the victim as 40P01 with the cycle in DETAIL")
    func deadlockIsReported() throws {
        try TestServer.with(deadlockTimeoutMilliseconds: 50) { server in
            let setup = try PostgresConnection(dsn: server.dsn)
            try setup.executeScript("CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t VALUES (1, 0), (2, 0);")
            let a = try PostgresConnection(dsn: server.dsn)
            let b = try PostgresConnection(dsn: server.dsn)
            try a.execute("BEGIN")
            try a.execute("UPDATE t SET v = v + 1 WHERE id = 1")
            try b.execute("BEGIN")
            try b.execute("UPDATE t SET v = v + 1 WHERE id = 2")
            try a.setNonBlocking(true)
            try b.setNonBlocking(true)
            try a.send("UPDATE t SET v = v + 1 WHERE id = $1", ["2"])
            _ = try a.flush()
            // Wait until a is really queued behind b before closing the cycle.
            let waiting = try eventually {
                try setup.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'", [String(a.backendPID)]).scalar == "1"
            }
            #expect(waiting)
            try b.send("UPDATE t SET v = v + 1 WHERE id = $1", ["1"])
            _ = try b.flush()
            let outcomes = [(a, try a.drain()), (b, try b.drain())]
            let failures = outcomes.compactMap { connection, outcome -> (PostgresConnection, PostgresError)? in
                if case .failure(let error) = outcome { return (connection, error) }
                return nil
            }
            try #require(failures.count == 1, "exactly one session is the victim")
            let (victim, error) = failures[0]
            let other = victim === a ? b : a
            #expect(error.sqlState == "40P01")
            #expect(error.kind == .server)
            #expect(error.message == "deadlock detected")
            let detail = try #require(error.detail)
            #expect(detail.contains("Process \(victim.backendPID) waits for ShareLock on transaction"))
            #expect(detail.contains("blocked by process \(other.backendPID)."))
            #expect(detail.contains("Process \(other.backendPID) waits for ShareLock on transaction"))
            #expect(error.context?.contains("while updating tuple") == true)
        }
    }

    @Test("NOWAIT on a locked row fails at once with 55P03")
    func nowaitConflictIsLockNotAvailable() throws {
        try TestServer.with { server in
            let holder = try PostgresConnection(dsn: server.dsn)
            try holder.executeScript("CREATE TABLE jobs (id int PRIMARY KEY); INSERT INTO jobs VALUES (1);")
            try holder.execute("BEGIN")
            try holder.execute("SELECT id FROM jobs WHERE id = 1 FOR UPDATE")
            let other = try PostgresConnection(dsn: server.dsn)
            try other.execute("BEGIN")
            let error = #expect(throws: PostgresError.self) {
                try other.execute("SELECT id FROM jobs WHERE id = $1 FOR UPDATE NOWAIT", ["1"])
            }
            #expect(error?.sqlState == "55P03")
            #expect(error?.message.contains("could not obtain lock on row in relation \"jobs\"") == true)
            // After an error the transaction only accepts ROLLBACK (25P02).
            let aborted = #expect(throws: PostgresError.self) { try other.execute("SELECT 1") }
            #expect(aborted?.sqlState == "25P02")
            try other.execute("ROLLBACK")
            #expect(try other.execute("SELECT 1").scalar == "1")
        }
    }

    @Test("cancel stops a running statement with 57014")
    func cancelRunningStatement() throws {
        try TestServer.with { server in
            let connection = try PostgresConnection(dsn: server.dsn)
            try connection.setNonBlocking(true)
            try connection.send("SELECT pg_sleep(30)", [])
            _ = try connection.flush()
            let cancel = try #require(connection.makeCancelHandle())
            usleep(100_000)
            #expect(cancel.cancel())
            let outcome = try connection.drain(timeout: 10)
            guard case .failure(let error) = outcome else {
                Issue.record("pg_sleep(30) was not canceled")
                return
            }
            #expect(error.sqlState == "57014")
        }
    }

    @Test("a terminated backend is a lost connection, not a server error")
    func terminatedBackendIsConnectionLost() throws {
        try TestServer.with { server in
            let admin = try PostgresConnection(dsn: server.dsn)
            let victim = try PostgresConnection(dsn: server.dsn)
            try admin.execute("SELECT pg_terminate_backend($1)", [String(victim.backendPID)])
            _ = try eventually { try admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", [String(victim.backendPID)]).scalar == "0" }
            let error = #expect(throws: PostgresError.self) { try victim.execute("SELECT 1") }
            #expect(error?.kind == .connectionLost || error?.sqlState == "57P01")
            #expect(victim.isHealthy == false)
        }
    }
}

/// Reads the results of `statements` statements with `nextResultStatus`
/// (each ends with `nil`; a pipeline's Sync counts as one), polling the socket.
private func readResults(_ connection: PostgresConnection, through statements: Int = 1, _ body: (PostgresConnection.ResultStatus) -> Void) throws {
    let deadline = Date().addingTimeInterval(30)
    var ended = 0
    while ended < statements {
        guard Date() < deadline else { throw PostgresError(kind: .client, message: "results did not come within 30 s") }
        try connection.consumeInput()
        while ended < statements, !connection.isBusy {
            guard let status = connection.nextResultStatus() else {
                ended += 1
                continue
            }
            body(status)
            if case .pipelineSync = status { ended += 1 }
        }
        if ended < statements {
            var descriptor = pollfd(fd: connection.socket, events: Int16(POLLIN), revents: 0)
            _ = poll(&descriptor, 1, 100)
        }
    }
}

@Suite("Connecting")
struct ConnectingTests {
    @Test("a wrong DSN fails with a clear error that never shows the password")
    func wrongDSNRedactsPassword() {
        let dsn = ConnectionString("postgresql://alice:s3cr3t@/nodb?host=/nonexistent-lockstorm-dir")
        let error = #expect(throws: PostgresError.self) { try PostgresConnection(dsn: dsn, connectTimeout: 2) }
        #expect(error?.kind == .connectionFailed)
        #expect(error?.message.contains("/nonexistent-lockstorm-dir") == true)
        #expect(error.map { "\($0)" }?.contains("s3cr3t") == false)
        #expect(dsn.description == "postgresql://alice:****@/nodb?host=/nonexistent-lockstorm-dir")
    }

    @Test("passwords are redacted in URLs and conninfo strings", arguments: [
        ("postgresql://bob:pw@db.example:5432/app", "postgresql://bob:****@db.example:5432/app"),
        ("postgres://bob@db/app?password=pw&sslmode=require", "postgres://bob@db/app?password=****&sslmode=require"),
        ("host=db user=bob password=pw dbname=app", "host=db user=bob password=**** dbname=app"),
        ("host=db password = 'p w\\'x' dbname=app", "host=db password=**** dbname=app"),
        ("host=db dbname=app", "host=db dbname=app"),
        ("postgresql://u:pa/ss@h/db", "postgresql://u:****@h/db"),
        ("postgresql://u:p:ss@h/db?sslmode=require", "postgresql://u:****@h/db?sslmode=require"),
        ("host=db password\t=\tsecret dbname=app", "host=db password=**** dbname=app"),
    ])
    func redaction(input: String, expected: String) {
        #expect(ConnectionString(input).description == expected)
    }
}
