import CLibPQ
import Foundation

/// One libpq connection. It owns its `PGconn` and frees it exactly once.
///
/// Two APIs sit side by side: blocking `execute` for setup, invariants and
/// tests, and the non-blocking `send`/`flush`/`consumeInput`/`nextResult`
/// family that the engine's event loops drive over many connections. A
/// connection is used by one thread at a time; it is not `Sendable`.
public final class PostgresConnection {
    private let handle: OpaquePointer
    /// The backend process ID serving this connection.
    public let backendPID: Int32
    /// Text of the bind parameters of the statement being sent, reused from
    /// statement to statement so that sending allocates nothing.
    // Run-time exclusivity checks off (~100 instructions a statement): only
    // `send` touches it, and a connection is used by one thread at a time.
    @exclusivity(unchecked) private var parameters = ParameterBuffer()

    /// Opens a connection, blocking for at most `connectTimeout` seconds.
    ///
    /// `dsn` is a URL or conninfo string; `applicationName` shows up in
    /// `pg_stat_activity` unless the DSN sets one itself.
    public init(dsn: ConnectionString, connectTimeout: Int = 10, applicationName: String = "lockstorm") throws {
        // connect_timeout comes first so the DSN may override it; application_name
        // last, because lockstorm finds its own sessions by it.
        let keywords = ["connect_timeout", "dbname", "application_name"]
        let values = [String(connectTimeout), dsn.raw, applicationName]
        let connection: OpaquePointer? = withCStringArray(keywords) { keywordPointers in
            withCStringArray(values) { valuePointers in
                PQconnectdbParams(keywordPointers, valuePointers, 1)
            }
        }
        guard let connection else {
            throw PostgresError(kind: .connectionFailed, message: "out of memory while connecting")
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = Self.trimmed(PQerrorMessage(connection)) ?? "could not connect"
            PQfinish(connection)
            throw PostgresError(kind: .connectionFailed, sqlState: "08001", message: ConnectionString.redact(message))
        }
        handle = connection
        backendPID = PQbackendPID(connection)
        // Notices ("table does not exist, skipping") would otherwise go to stderr.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
    }

    /// Takes over a handle whose connection is established (from `PendingConnection`).
    init(established handle: OpaquePointer) {
        self.handle = handle
        backendPID = PQbackendPID(handle)
        PQsetNoticeProcessor(handle, { _, _ in }, nil)
    }

    deinit {
        PQfinish(handle)
    }

    /// Whether the connection is still usable.
    public var isHealthy: Bool { PQstatus(handle) == CONNECTION_OK }

    /// The server's version as an integer, e.g. 150018.
    public var serverVersion: Int { Int(PQserverVersion(handle)) }

    /// The socket descriptor to poll for readiness.
    public var socket: Int32 { PQsocket(handle) }

    // MARK: Blocking API

    /// Runs one statement with bind parameters (`$1`, `$2`, … in text form)
    /// and waits for its result. Throws `PostgresError` on failure.
    @discardableResult
    public func execute(_ sql: String, _ parameters: [String?] = []) throws -> QueryResult {
        let result: OpaquePointer? = sql.withCString { sqlPointer in
            withParameterPointers(parameters) { count, pointers in
                PQexecParams(handle, sqlPointer, count, nil, pointers, nil, nil, 0)
            }
        }
        return try consume(result, copyRows: true)
    }

    /// Runs a script of one or more statements without parameters, using
    /// the simple query protocol. Returns the last statement's result.
    @discardableResult
    public func executeScript(_ sql: String) throws -> QueryResult {
        try consume(PQexec(handle, sql), copyRows: true)
    }

    // MARK: Non-blocking API

    /// Puts the connection in non-blocking mode (required before `send`).
    public func setNonBlocking(_ enabled: Bool) throws {
        if PQsetnonblocking(handle, enabled ? 1 : 0) != 0 {
            throw connectionError()
        }
    }

    /// Queues one statement with bind parameters. Call `flush` until it
    /// returns `true`, then wait for the socket to become readable.
    public func send(_ sql: String, _ parameters: [String?]) throws {
        try send(sql, parameterCount: parameters.count) { parameters[$0] }
    }

    /// Like `send(_:_:)`, with parameter `i` (0 ≤ i < `parameterCount`) read
    /// from `value(i)`: the caller needs no array of values.
    public func send(_ sql: String, parameterCount: Int, _ value: (Int) -> String?) throws {
        try send(sql, parameterCount: parameterCount, buffer: &parameters, value)
    }

    /// Like `send(_:parameterCount:_:)`, with the parameters' C text built in
    /// `buffer`, which libpq has copied by the time this returns: one buffer
    /// can serve every connection of a thread. An event loop over hundreds of
    /// connections keeps it in cache that way, where a buffer per connection
    /// is cold by the time that connection sends again.
    public func send(_ sql: String, parameterCount: Int, buffer: inout ParameterBuffer, _ value: (Int) -> String?) throws {
        let values = buffer.fill(count: parameterCount, value)
        let accepted = sql.withCString { sqlPointer in
            PQsendQueryParams(handle, sqlPointer, Int32(parameterCount), nil, values, nil, nil, 0)
        }
        if accepted == 0 { throw connectionError() }
    }

    // MARK: Other protocols (`-M simple`, `-M prepared`)

    /// Queues `sql` as a simple Query message (`PQsendQuery`): no bind
    /// parameters, and not allowed in pipeline mode.
    public func sendSimple(_ sql: String) throws {
        let accepted = sql.withCString { PQsendQuery(handle, $0) }
        if accepted == 0 { throw connectionError() }
    }

    /// Queues a Parse of `sql` into the prepared statement `name`
    /// (`PQsendPrepare`); its result says whether the server accepted it.
    /// The parameters' types are left to the server, as with `send`.
    public func sendPrepare(name: String, sql: String) throws {
        let accepted = name.withCString { namePointer in
            sql.withCString { PQsendPrepare(handle, namePointer, $0, 0, nil) }
        }
        if accepted == 0 { throw connectionError() }
    }

    /// Like `send(_:parameterCount:buffer:_:)`, for the statement prepared as
    /// `name` on this connection (`PQsendQueryPrepared`: Bind and Execute only).
    public func sendPrepared(name: String, parameterCount: Int, buffer: inout ParameterBuffer, _ value: (Int) -> String?) throws {
        let values = buffer.fill(count: parameterCount, value)
        let accepted = name.withCString { namePointer in
            PQsendQueryPrepared(handle, namePointer, Int32(parameterCount), values, nil, nil, 0)
        }
        if accepted == 0 { throw connectionError() }
    }

    // MARK: Pipeline mode

    /// Enters libpq's pipeline mode: statements queued with `send` go out
    /// without waiting for each other's results, up to `pipelineSync`.
    /// Results then come per statement (each followed by `nil` from
    /// `nextResultStatus`); after a failure the rest are `.pipelineAborted`;
    /// `.pipelineSync` ends them. Needs non-blocking mode for `flush`.
    public func enterPipelineMode() throws {
        if PQenterPipelineMode(handle) == 0 { throw connectionError() }
    }

    /// Marks the end of the pipeline (a Sync message) and sends it.
    public func pipelineSync() throws {
        if PQpipelineSync(handle) == 0 { throw connectionError() }
    }

    /// Leaves pipeline mode; only once every result up to `.pipelineSync` is read.
    public func exitPipelineMode() throws {
        if PQexitPipelineMode(handle) == 0 { throw connectionError() }
    }

    /// Whether the connection is in pipeline mode.
    public var isPipelining: Bool { PQpipelineStatus(handle) != PQ_PIPELINE_OFF }

    /// Sends buffered output. Returns `true` when everything is sent, `false`
    /// when the socket is full and the caller should wait for writability.
    public func flush() throws -> Bool {
        switch PQflush(handle) {
        case 0: return true
        case 1: return false
        default: throw connectionError()
        }
    }

    /// Reads whatever the server has sent; call when the socket is readable.
    public func consumeInput() throws {
        if PQconsumeInput(handle) == 0 { throw connectionError() }
    }

    /// Whether `nextResult` would block.
    public var isBusy: Bool { PQisBusy(handle) != 0 }

    /// One result of the statement in flight, or `nil` once the statement is
    /// complete. Call only while `isBusy` is false. With `copyRows: false`
    /// the rows are not copied (the hot path needs only success or failure).
    public func nextResult(copyRows: Bool) -> Result<QueryResult, PostgresError>? {
        guard let result = PQgetResult(handle) else { return nil }
        return nextResult(afterFetching: result, copyRows: copyRows)
    }

    private func nextResult(afterFetching result: OpaquePointer, copyRows: Bool = false) -> Result<QueryResult, PostgresError> {
        if Self.isCopy(PQresultStatus(result)) {
            // libpq would hand out COPY results forever; this connection cannot go on.
            PQclear(result)
            return .failure(PostgresError(kind: .connectionLost, message: "COPY … FROM STDIN / TO STDOUT is not supported in a workload step; the connection was dropped"))
        }
        do {
            return .success(try consume(result, copyRows: copyRows))
        } catch let error as PostgresError {
            return .failure(error)
        } catch {
            return .failure(PostgresError(kind: .client, message: "\(error)"))
        }
    }

    /// How one result of the statement in flight ended: the hot path of a
    /// load needs no more than that.
    public enum ResultStatus {
        /// `rowCount`: rows returned, or affected according to the command tag.
        case success(rowCount: Int)
        /// `indirect`: the error (13 words) is boxed, so the status is two
        /// words to return and to test for `nil`, not fourteen, for the
        /// price of an allocation when a statement fails.
        indirect case failure(PostgresError)
        /// Pipeline mode: the statement was not run, as an earlier one failed.
        case pipelineAborted
        /// Pipeline mode: the end of the pipeline (`pipelineSync`) was reached.
        case pipelineSync
    }

    /// Like `nextResult(copyRows: false)`, but copies nothing out of a
    /// successful result (no command tag, no row count): `nil` once the
    /// statement is complete. Call only while `isBusy` is false.
    public func nextResultStatus() -> ResultStatus? {
        guard let result = PQgetResult(handle) else { return nil }
        switch PQresultStatus(result) {
        case PGRES_TUPLES_OK, PGRES_SINGLE_TUPLE:
            let rows = Int(PQntuples(result))
            PQclear(result)
            return .success(rowCount: rows)
        case PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            let rows = Self.affectedRows(commandTag: PQcmdStatus(result))
            PQclear(result)
            return .success(rowCount: rows)
        case PGRES_PIPELINE_ABORTED:
            PQclear(result)
            return .pipelineAborted
        case PGRES_PIPELINE_SYNC:
            PQclear(result)
            return .pipelineSync
        default:
            switch nextResult(afterFetching: result) {
            case .failure(let error): return .failure(error)
            case .success(let query): return .success(rowCount: query.affectedRows)
            }
        }
    }

    /// A handle that can cancel the statement in flight from any thread.
    public func makeCancelHandle() -> CancelHandle? {
        guard let cancel = PQgetCancel(handle) else { return nil }
        return CancelHandle(cancel)
    }

    // MARK: Helpers

    private static func isCopy(_ status: ExecStatusType) -> Bool {
        status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH
    }

    private func consume(_ result: OpaquePointer?, copyRows: Bool) throws -> QueryResult {
        guard let result else { throw connectionError() }
        defer { PQclear(result) }
        if Self.isCopy(PQresultStatus(result)) {
            // End the COPY so the connection stays usable, then refuse it.
            if PQresultStatus(result) == PGRES_COPY_IN { _ = PQputCopyEnd(handle, "COPY is not supported by lockstorm") }
            while let rest = PQgetResult(handle) {
                let status = PQresultStatus(rest)
                PQclear(rest)
                if Self.isCopy(status) { break }
            }
            throw PostgresError(kind: .client, message: "COPY … FROM STDIN / TO STDOUT is not supported; use INSERT … SELECT or a server-side file")
        }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            let tag = PQcmdStatus(result)
            return QueryResult(commandTag: Self.string(tag) ?? "", affectedRows: Self.affectedRows(commandTag: tag))
        case PGRES_TUPLES_OK, PGRES_SINGLE_TUPLE:
            let rowCount = Int(PQntuples(result))
            let columnCount = Int(PQnfields(result))
            var query = QueryResult(commandTag: Self.string(PQcmdStatus(result)) ?? "", affectedRows: rowCount)
            guard copyRows else { return query }
            query.columns = (0..<columnCount).map { Self.string(PQfname(result, Int32($0))) ?? "" }
            query.columnTypes = (0..<columnCount).map { UInt32(PQftype(result, Int32($0))) }
            query.rows.reserveCapacity(rowCount)
            for row in 0..<Int32(rowCount) {
                var values: [String?] = []
                values.reserveCapacity(columnCount)
                for column in 0..<Int32(columnCount) {
                    if PQgetisnull(result, row, column) != 0 {
                        values.append(nil)
                    } else {
                        values.append(Self.string(PQgetvalue(result, row, column)))
                    }
                }
                query.rows.append(values)
            }
            return query
        default:
            throw serverError(result)
        }
    }

    private func serverError(_ result: OpaquePointer) -> PostgresError {
        func field(_ code: Int32) -> String? { Self.string(PQresultErrorField(result, code)) }
        let sqlState = field(Int32(LS_PG_DIAG_SQLSTATE))
        let message = field(Int32(LS_PG_DIAG_MESSAGE_PRIMARY))
            ?? Self.trimmed(PQresultErrorMessage(result))
            ?? Self.trimmed(PQerrorMessage(handle))
            ?? "unknown error"
        // A result without SQLSTATE is libpq's own report, usually a lost connection.
        let kind: PostgresError.Kind = sqlState == nil && PQstatus(handle) != CONNECTION_OK ? .connectionLost : .server
        return PostgresError(
            kind: kind,
            sqlState: sqlState ?? (kind == .connectionLost ? "08006" : nil),
            severity: field(Int32(LS_PG_DIAG_SEVERITY_NONLOCALIZED)),
            message: message,
            detail: field(Int32(LS_PG_DIAG_MESSAGE_DETAIL)),
            hint: field(Int32(LS_PG_DIAG_MESSAGE_HINT)),
            context: field(Int32(LS_PG_DIAG_CONTEXT))
        )
    }

    private func connectionError() -> PostgresError {
        let message = Self.trimmed(PQerrorMessage(handle)) ?? "connection error"
        if PQstatus(handle) != CONNECTION_OK {
            return PostgresError(kind: .connectionLost, sqlState: "08006", message: message)
        }
        return PostgresError(kind: .client, message: message)
    }

    /// The rows a command affected, read from its tag (`PQcmdStatus`) as
    /// `PQcmdTuples` reads it: the number after "INSERT <oid> ", "SELECT ",
    /// "UPDATE ", "DELETE ", "MERGE ", "FETCH ", "MOVE " or "COPY "; 0 for any
    /// other tag ("BEGIN", "COMMIT", "SET", "CREATE TABLE") and for a number
    /// that is not all digits (PQcmdTuples gives "" for both) or does not fit.
    ///
    /// Written out rather than calling `PQcmdTuples`: that tries its prefixes
    /// one `strncmp` at a time (seven for BEGIN or COMMIT), ~1,000
    /// instructions a transaction; this looks at the first letter.
    static func affectedRows(commandTag: UnsafePointer<CChar>?) -> Int {
        guard let commandTag else { return 0 }
        return UnsafeRawPointer(commandTag).withMemoryRebound(to: UInt8.self, capacity: 1) { tag in
            /// Whether the tag starts with `prefix` (stops at the NUL: no read past the end).
            func starts(with prefix: StaticString) -> Bool {
                let bytes = prefix.utf8Start
                for offset in 0..<prefix.utf8CodeUnitCount where tag[offset] != bytes[offset] { return false }
                return true
            }
            var digits: UnsafePointer<UInt8>
            switch tag[0] {
            case UInt8(ascii: "I") where starts(with: "INSERT "):
                // "INSERT <oid> <rows>": skip the oid.
                digits = tag + 7
                while digits.pointee != 0 && digits.pointee != UInt8(ascii: " ") { digits += 1 }
                guard digits.pointee != 0 else { return 0 }
                digits += 1
            case UInt8(ascii: "S") where starts(with: "SELECT "),
                 UInt8(ascii: "U") where starts(with: "UPDATE "),
                 UInt8(ascii: "D") where starts(with: "DELETE "):
                digits = tag + 7
            case UInt8(ascii: "M") where starts(with: "MERGE "),
                 UInt8(ascii: "F") where starts(with: "FETCH "):
                digits = tag + 6
            case UInt8(ascii: "M") where starts(with: "MOVE "),
                 UInt8(ascii: "C") where starts(with: "COPY "):
                digits = tag + 5
            default:
                return 0
            }
            // At least one digit and nothing else, as PQcmdTuples checks.
            guard digits.pointee != 0 else { return 0 }
            var value = 0
            while digits.pointee != 0 {
                let digit = Int(digits.pointee) &- 48
                guard digit >= 0 && digit <= 9 else { return 0 }
                let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times10.addingReportingOverflow(digit)
                if overflow1 || overflow2 { return 0 }
                value = sum
                digits += 1
            }
            return value
        }
    }

    private static func string(_ pointer: UnsafePointer<CChar>?) -> String? {
        guard let pointer else { return nil }
        return String(cString: pointer)
    }

    private static func string(_ pointer: UnsafeMutablePointer<CChar>?) -> String? {
        guard let pointer else { return nil }
        return String(cString: pointer)
    }

    private static func trimmed(_ pointer: UnsafeMutablePointer<CChar>?) -> String? {
        guard let text = string(pointer)?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else { return nil }
        return text
    }
}

/// A connection being opened without blocking (`PQconnectStartParams` /
/// `PQconnectPoll`): many can be opened in parallel from one event loop.
public final class PendingConnection {
    /// What the caller must wait for before calling `poll` again.
    public enum Status {
        case wantRead
        case wantWrite
        case ready(PostgresConnection)
        case failed(PostgresError)
    }

    private var handle: OpaquePointer?
    private let deadline: UInt64?

    /// Starts connecting. `deadlineNanoseconds` is a monotonic time after
    /// which `poll` gives up (libpq does not apply connect_timeout here).
    public init(dsn: ConnectionString, applicationName: String = "lockstorm", deadlineNanoseconds: UInt64? = nil) throws {
        let keywords = ["dbname", "application_name"]
        let values = [dsn.raw, applicationName]
        let connection: OpaquePointer? = withCStringArray(keywords) { keywordPointers in
            withCStringArray(values) { valuePointers in
                PQconnectStartParams(keywordPointers, valuePointers, 1)
            }
        }
        guard let connection else { throw PostgresError(kind: .connectionFailed, message: "out of memory while connecting") }
        guard PQstatus(connection) != CONNECTION_BAD else {
            let message = String(cString: PQerrorMessage(connection)).trimmingCharacters(in: .whitespacesAndNewlines)
            PQfinish(connection)
            throw PostgresError(kind: .connectionFailed, sqlState: "08001", message: ConnectionString.redact(message))
        }
        handle = connection
        deadline = deadlineNanoseconds
    }

    deinit {
        if let handle { PQfinish(handle) }
    }

    /// The socket to wait on; it may change between polls.
    public var socket: Int32 { handle.map { PQsocket($0) } ?? -1 }

    /// Advances the connection. Call first when the socket is writable.
    public func poll(now: UInt64) -> Status {
        guard let handle else { return .failed(PostgresError(kind: .client, message: "connection already handed over")) }
        if let deadline, now >= deadline {
            return .failed(PostgresError(kind: .connectionFailed, sqlState: "08001", message: "timeout expired while connecting"))
        }
        switch PQconnectPoll(handle) {
        case PGRES_POLLING_READING:
            return .wantRead
        case PGRES_POLLING_WRITING:
            return .wantWrite
        case PGRES_POLLING_OK:
            self.handle = nil
            return .ready(PostgresConnection(established: handle))
        default:
            let message = String(cString: PQerrorMessage(handle)).trimmingCharacters(in: .whitespacesAndNewlines)
            return .failed(PostgresError(kind: .connectionFailed, sqlState: "08001", message: ConnectionString.redact(message.isEmpty ? "could not connect" : message)))
        }
    }
}

/// Cancels the statement running on a connection, from any thread.
///
/// `@unchecked Sendable`: libpq documents `PQcancel` as safe to call from a
/// thread other than the one using the connection, and the `PGcancel` object
/// is immutable after `PQgetCancel`; it is freed exactly once, in `deinit`.
public final class CancelHandle: @unchecked Sendable {
    private let handle: OpaquePointer

    init(_ handle: OpaquePointer) {
        self.handle = handle
    }

    deinit {
        PQfreeCancel(handle)
    }

    /// Asks the server to cancel the running statement. Returns whether the
    /// request was delivered (the statement may still finish first).
    @discardableResult
    public func cancel() -> Bool {
        var buffer = [CChar](repeating: 0, count: 256)
        return PQcancel(handle, &buffer, Int32(buffer.count)) == 1
    }
}

/// Calls `body` with a C array of C strings for `strings` plus a NULL terminator.
private func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    var storage: [CChar] = []
    var offsets: [Int] = []
    for string in strings {
        offsets.append(storage.count)
        storage.append(contentsOf: string.utf8CString)
    }
    // `storage` and `pointers` are never empty (a NUL per string, a NULL
    // terminator), so their base addresses exist; the fallbacks cannot run.
    storage.append(0)
    return storage.withUnsafeBufferPointer { buffer in
        guard let base = buffer.baseAddress else { preconditionFailure("a non-empty array has a base address") }
        var pointers: [UnsafePointer<CChar>?] = offsets.map { base + $0 }
        pointers.append(nil)
        return pointers.withUnsafeBufferPointer { list in
            guard let first = list.baseAddress else { preconditionFailure("a non-empty array has a base address") }
            return body(first)
        }
    }
}

/// The C form of text-format bind parameters, in memory reused from
/// statement to statement (a connection's own, or one a thread shares among
/// its connections): one byte buffer holds all values (each NUL-terminated),
/// one array points into it (`nil`: SQL NULL). They grow as needed and are
/// freed when the buffer goes: it cannot be copied, so exactly once.
public struct ParameterBuffer: ~Copyable {
    private var bytes: UnsafeMutablePointer<CChar>?
    private var byteCapacity = 0
    private var pointers: UnsafeMutablePointer<UnsafePointer<CChar>?>?
    /// Where each value starts in `bytes` (−1: NULL) while they are copied in:
    /// `bytes` may move as it grows, so pointers are taken at the end.
    private var offsets: UnsafeMutablePointer<Int>?
    private var pointerCapacity = 0

    /// An empty buffer: nothing is allocated until the first parameter.
    public init() {}

    /// Copies `value(0)`, …, `value(count − 1)` in (each read once) and
    /// returns the value array for libpq (`nil` when there are none). Valid
    /// until the next `fill`.
    mutating func fill(count: Int, _ value: (Int) -> String?) -> UnsafePointer<UnsafePointer<CChar>?>? {
        if count == 0 { return nil }
        if count > pointerCapacity {
            pointers?.deallocate()
            offsets?.deallocate()
            pointerCapacity = max(count, 2 * pointerCapacity, 16)
            pointers = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: pointerCapacity)
            offsets = UnsafeMutablePointer<Int>.allocate(capacity: pointerCapacity)
        }
        guard let pointers, let offsets else { preconditionFailure("buffers were just allocated") }
        var used = 0
        for index in 0..<count {
            guard var text = value(index) else {
                offsets[index] = -1
                continue
            }
            // withUTF8 makes a bridged string contiguous first; native ones are already.
            text.withUTF8 { utf8 in
                reserveBytes(used + utf8.count + 1)
                guard let bytes else { preconditionFailure("buffer was just reserved") }
                if let base = utf8.baseAddress { UnsafeMutableRawPointer(bytes + used).copyMemory(from: base, byteCount: utf8.count) }
                bytes[used + utf8.count] = 0
                offsets[index] = used
                used += utf8.count + 1
            }
        }
        for index in 0..<count {
            pointers[index] = offsets[index] < 0 ? nil : bytes.map { UnsafePointer($0 + offsets[index]) }
        }
        return UnsafePointer(pointers)
    }

    /// Grows `bytes` to hold at least `needed`, keeping what it holds.
    private mutating func reserveBytes(_ needed: Int) {
        guard needed > byteCapacity else { return }
        let capacity = max(needed, 2 * byteCapacity, 256)
        let grown = UnsafeMutablePointer<CChar>.allocate(capacity: capacity)
        if let bytes {
            grown.update(from: bytes, count: byteCapacity)
            bytes.deallocate()
        }
        bytes = grown
        byteCapacity = capacity
    }

    deinit {
        bytes?.deallocate()
        pointers?.deallocate()
        offsets?.deallocate()
    }
}

/// Calls `body` with libpq's parameter count and value array for text-format
/// bind parameters; `nil` values become SQL NULL. One buffer holds all values.
private func withParameterPointers<R>(_ parameters: [String?], _ body: (Int32, UnsafePointer<UnsafePointer<CChar>?>?) -> R) -> R {
    if parameters.isEmpty { return body(0, nil) }
    var storage: [CChar] = []
    storage.reserveCapacity(parameters.count * 8)
    var offsets: [Int] = []
    offsets.reserveCapacity(parameters.count)
    for parameter in parameters {
        if let parameter {
            offsets.append(storage.count)
            for byte in parameter.utf8 { storage.append(CChar(bitPattern: byte)) }
            storage.append(0)
        } else {
            offsets.append(-1)
        }
    }
    storage.append(0)
    return storage.withUnsafeBufferPointer { buffer in
        // `storage` ends with a NUL, so it is never empty and has a base address.
        guard let base = buffer.baseAddress else { preconditionFailure("a non-empty array has a base address") }
        let pointers: [UnsafePointer<CChar>?] = offsets.map { $0 < 0 ? nil : base + $0 }
        return pointers.withUnsafeBufferPointer { body(Int32(parameters.count), $0.baseAddress) }
    }
}
