#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
#if os(Linux)
import CEventPoll
#endif

/// Readiness of a worker's connections. Sockets are registered once per
/// connection (level-triggered), so waiting costs the same whatever the
/// number of idle connections: on Linux with `epoll`, where `poll` over all
/// sockets on every wake-up made the kernel visit each of them (the event
/// loop's largest system-time cost at 64 clients and more). Elsewhere it
/// falls back to `poll` over the registered sockets.
///
/// Owned and used by one worker thread.
final class Poller {
    /// One ready socket: its owner (the client index given at `add`) and
    /// its `poll`-style events (`POLLIN`, `POLLOUT`, `POLLERR`, `POLLHUP`).
    struct Event {
        var owner: Int
        var events: Int16
    }

    // Run-time exclusivity checks off on what `wait` fills (callgrind: ~600
    // instructions a transaction in `swift_beginAccess` and its thread-local
    // lookups): a poller belongs to one worker thread.
    #if os(Linux)
    private let epoll: Int32
    @exclusivity(unchecked) private var buffer: [epoll_event]
    #else
    @exclusivity(unchecked) private var registered: [Int32: (owner: Int, events: Int16)] = [:]
    #endif
    /// Ready sockets of the last `wait`.
    @exclusivity(unchecked) private(set) var ready: [Event] = []

    init(capacity: Int) {
        #if os(Linux)
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        precondition(epoll >= 0, "epoll_create1 failed: errno \(errno)")
        buffer = Array(repeating: epoll_event(), count: max(capacity, 16))
        #endif
        ready.reserveCapacity(max(capacity, 16))
    }

    deinit {
        #if os(Linux)
        close(epoll)
        #endif
    }

    /// Watches `socket` for readability, and writability when `write`.
    func add(_ socket: Int32, owner: Int, write: Bool = false) {
        guard socket >= 0 else { return }
        #if os(Linux)
        var event = Self.event(owner: owner, write: write)
        if epoll_ctl(epoll, EPOLL_CTL_ADD, socket, &event) != 0 && errno == EEXIST {
            _ = epoll_ctl(epoll, EPOLL_CTL_MOD, socket, &event)
        }
        #else
        registered[socket] = (owner, Int16(write ? POLLIN | POLLOUT : POLLIN))
        #endif
    }

    /// Changes whether `socket` is also watched for writability.
    func modify(_ socket: Int32, owner: Int, write: Bool) {
        guard socket >= 0 else { return }
        #if os(Linux)
        var event = Self.event(owner: owner, write: write)
        _ = epoll_ctl(epoll, EPOLL_CTL_MOD, socket, &event)
        #else
        registered[socket] = (owner, Int16(write ? POLLIN | POLLOUT : POLLIN))
        #endif
    }

    /// Stops watching `socket`. Call while it is still open: a closed
    /// socket leaves the epoll set by itself, and its number may already
    /// belong to another connection.
    func remove(_ socket: Int32) {
        guard socket >= 0 else { return }
        #if os(Linux)
        var event = epoll_event()
        _ = epoll_ctl(epoll, EPOLL_CTL_DEL, socket, &event)
        #else
        registered[socket] = nil
        #endif
    }

    /// Waits up to `timeout` milliseconds for registered sockets and, at the
    /// same time, for `extra` (sockets of connections being opened, which
    /// libpq may replace between steps; `revents` are filled in). Ready
    /// registered sockets are in `ready` afterwards.
    func wait(timeout: Int32, extra: inout [pollfd]) {
        ready.removeAll(keepingCapacity: true)
        #if os(Linux)
        var timeout = timeout
        if !extra.isEmpty {
            // Rare (reconnecting): poll the extra sockets and the epoll descriptor together.
            extra.append(pollfd(fd: epoll, events: Int16(POLLIN), revents: 0))
            let count = extra.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t($0.count), timeout) }
            let epollReady = extra.removeLast().revents != 0
            guard count > 0, epollReady else { return }
            timeout = 0
        }
        let count = buffer.withUnsafeMutableBufferPointer { epoll_wait(epoll, $0.baseAddress, Int32($0.count), timeout) }
        guard count > 0 else { return }
        for slot in 0..<Int(count) {
            let event = buffer[slot]
            var events: Int16 = 0
            if event.events & EPOLLIN.rawValue != 0 { events |= Int16(POLLIN) }
            if event.events & EPOLLOUT.rawValue != 0 { events |= Int16(POLLOUT) }
            if event.events & EPOLLERR.rawValue != 0 { events |= Int16(POLLERR) }
            if event.events & EPOLLHUP.rawValue != 0 { events |= Int16(POLLHUP) }
            ready.append(Event(owner: Int(event.data.u64), events: events))
        }
        #else
        let base = extra.count
        var owners: [Int] = []
        for (socket, entry) in registered {
            extra.append(pollfd(fd: socket, events: entry.events, revents: 0))
            owners.append(entry.owner)
        }
        let count = extra.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t($0.count), timeout) }
        if count > 0 {
            for (offset, owner) in owners.enumerated() where extra[base + offset].revents != 0 {
                ready.append(Event(owner: owner, events: extra[base + offset].revents))
            }
        }
        extra.removeSubrange(base...)
        #endif
    }

    #if os(Linux)
    private static func event(owner: Int, write: Bool) -> epoll_event {
        var event = epoll_event()
        event.events = EPOLLIN.rawValue | (write ? EPOLLOUT.rawValue : 0)
        event.data.u64 = UInt64(owner)
        return event
    }
    #endif
}
