import Foundation
import PostgresClient

extension PostgresConnection {
    /// Waits (polling the socket) for the statement in flight to complete and
    /// returns its outcome: the first error, else the last result.
    public func drain(timeout: Double = 30) throws -> Result<QueryResult, PostgresError> {
        let deadline = Date().addingTimeInterval(timeout)
        var outcome: Result<QueryResult, PostgresError> = .success(QueryResult())
        var failed = false
        while Date() < deadline {
            try consumeInput()
            while !isBusy {
                guard let result = nextResult(copyRows: true) else { return outcome }
                if case .failure = result { if !failed { outcome = result; failed = true } } else if !failed { outcome = result }
            }
            var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            _ = poll(&descriptor, 1, 100)
        }
        throw PostgresError(kind: .client, message: "statement did not complete within \(timeout) s")
    }
}

/// Polls `condition` until it holds or `timeout` passes.
public func eventually(timeout: Double = 10, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return true }
        usleep(20_000)
    }
    return try condition()
}
