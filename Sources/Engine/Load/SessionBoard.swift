import LockstormCore
import Synchronization
#if os(Linux)
import CEventPoll
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What every client is executing, readable from any worker: when a client
/// is chosen as a deadlock victim, the others in the cycle may run on
/// another thread, and the victim's worker looks them up here by backend PID.
///
/// Written on every statement by the client's own worker, read only when a
/// deadlock is reported, so the layout serves the writer:
///
/// - A statement is four words in one flat block per client (header and a
///   ring of `history` entries, 64-byte aligned so no two clients share a
///   cache line): its times, its transaction, and what it was as an index
///   into the plan (step `i`, BEGIN, setting `i`, COMMIT, ROLLBACK). The
///   plan's SQL and parameter sources are not retained per statement: their
///   reference counts are shared by every client on every thread.
/// - A step's parameters are its plan sources read against the attempt's
///   variable texts: only the texts box is kept, once per box (one retain an
///   attempt, not one a statement), in a small per-client table of
///   references, for as long as a kept statement refers to it (and at most
///   until the table next changes after that). A statement the plan does not
///   account for is kept verbatim there instead (never the case for
///   statements the client machine sends).
/// - Writers never lock for the words: each client's block is a seqlock
///   (the version is odd while the writer changes it; a reader copies the
///   words, all atomics, and retries when the version moved). Completing a
///   statement is one store. The reference table changes only under the
///   client's mutex, which a reader holds while it copies: the writer takes
///   it (once an attempt) before it opens the version, so a reader holding
///   it never waits for a writer that waits for it.
final class SessionBoard: @unchecked Sendable {
    // `@unchecked Sendable`: the mutable state is behind raw pointers, which
    // the compiler cannot follow. Every word of `words` is an `Atomic`; the
    // ones only a client's own worker touches (its `Header` fields marked
    // private) are never read by another thread, and the shared ones are read
    // under the seqlock protocol above. `references` is only touched under its
    // mutex. Both are allocated in `init` and freed in `deinit`, and every
    // index is checked against `clientCount`.

    /// One statement a client sent.
    struct Statement: Sendable {
        var transaction: Int
        var step: Int?
        var sql: String
        /// Shares the step's sources and the attempt's variable texts: keeping
        /// it costs no array per statement.
        var parameters: StatementParameters
        var sentAt: UInt64
        /// When its result came back (`nil` while in flight).
        var completedAt: UInt64? = nil
    }

    /// Enough for the statements of one attempt of a typical transaction
    /// (BEGIN, settings, steps), so fuzz can rebuild a participant's transaction.
    static let history = 16

    let clientCount: Int

    // MARK: Layout

    /// Word offsets in a client's block: a header, then `history` entries.
    private enum Header {
        /// Even when the block is consistent; odd while the writer changes it.
        static let version = 0
        /// Statements sent since the client connected: the next goes to entry
        /// `sent % history`.
        static let sent = 1
        /// Private: per reference slot (one byte each, slots 0-7 then 8-15),
        /// how many kept entries refer to it.
        static let usesLow = 2
        static let usesHigh = 3
        /// Private: the variable texts a statement last referred to (their
        /// `ObjectIdentifier` bits; 0: none), and their reference slot.
        static let lastTexts = 4
        static let lastSlot = 5
        /// Private: a bit per reference slot whose table entry is set. A slot
        /// no kept entry refers to any more is cleared only the next time the
        /// table changes anyway (a new attempt's texts): one lock an attempt,
        /// not two.
        static let held = 6
        static let words = 8
    }

    /// Word offsets in an entry.
    private enum Entry {
        static let sentAt = 0
        /// `inFlight` until the result came back.
        static let completedAt = 1
        static let transaction = 2
        /// What the statement was: bits 0-31 the step or setting index, 32-39
        /// its `Kind`, 40-47 its reference slot + 1 (0: none).
        static let code = 3
        static let words = 4
    }

    /// `Entry.completedAt` of a statement still in flight. (A completion
    /// reported at this very time reads as in flight: the monotonic clock is
    /// nowhere near it.)
    private static let inFlight = UInt64.max

    /// What a statement was, in plan terms.
    private enum Kind: UInt64 {
        /// Step `index` of the transaction: its SQL and sources, read against
        /// the variable texts in the reference slot.
        case step = 1
        case begin, setting, commit, rollback
        /// A `Verbatim` in the reference slot holds it.
        case verbatim
    }

    private static let noSlot = -1
    /// 72 words: 9 whole cache lines, the header in the first.
    private static let blockWords = Header.words + history * Entry.words
    private static let cacheLine = 64

    /// Kept alive for the entries that refer to it.
    private enum Held: Sendable {
        case texts(VariableTexts)
        case verbatim(Verbatim)
    }

    /// A statement the plan does not account for, kept as it was sent.
    private final class Verbatim: Sendable {
        let step: Int?
        let sql: String
        let parameters: StatementParameters

        init(step: Int?, sql: String, parameters: StatementParameters) {
            self.step = step
            self.sql = sql
            self.parameters = parameters
        }
    }

    /// One slot per entry at most (`history`).
    private typealias References = InlineArray<16, Held?>

    /// `clientCount` blocks of `blockWords` atomics.
    private let words: UnsafeMutablePointer<Atomic<UInt64>>
    /// Per client: what its entries' reference slots hold.
    /// (One every `referenceStride` bytes: whole cache lines, so two
    /// workers locking neighbouring clients do not share one.)
    private let references: UnsafeMutableRawPointer
    private static let referenceStride = (MemoryLayout<Mutex<References>>.stride + cacheLine - 1) / cacheLine * cacheLine
    private let clientByPID = Mutex<[Int32: Int]>([:])

    // The plan's statement texts, flat: what a statement's code stands for.
    private let begins: [String]
    private let settings: [[BoundStatement]]
    /// Step `s` of transaction `t` is `steps[stepRanges[t].first + s]`, for `s < stepRanges[t].count`.
    private let stepRanges: [(first: Int, count: Int)]
    private let steps: [StepText]

    private struct StepText {
        var sql: String
        var sources: [ParameterSource]
    }

    init(plan: RunPlan, clients: Int) {
        precondition(clients >= 0, "SessionBoard: negative client count")
        precondition(
            References.count == Self.history && Self.history * Entry.words == 64 && Self.blockWords * 8 % Self.cacheLine == 0,
            "SessionBoard: fixed sizes out of step with history"
        )
        clientCount = clients
        var begins: [String] = [], settings: [[BoundStatement]] = [], stepRanges: [(first: Int, count: Int)] = [], steps: [StepText] = []
        for transaction in plan.transactions {
            begins.append(transaction.begin)
            settings.append(transaction.settings)
            stepRanges.append((steps.count, transaction.steps.count))
            for step in transaction.steps {
                // A pause is never sent: an empty text no statement matches.
                guard case .sql(let sql, let sources, _) = step else {
                    steps.append(StepText(sql: "", sources: []))
                    continue
                }
                steps.append(StepText(sql: sql, sources: sources))
            }
        }
        (self.begins, self.settings, self.stepRanges, self.steps) = (begins, settings, stepRanges, steps)

        let count = max(clients, 1) * Self.blockWords
        words = UnsafeMutableRawPointer.allocate(byteCount: count * MemoryLayout<Atomic<UInt64>>.stride, alignment: Self.cacheLine)
            .bindMemory(to: Atomic<UInt64>.self, capacity: count)
        for word in 0..<count { (words + word).initialize(to: Atomic(0)) }
        references = .allocate(byteCount: max(clients, 1) * Self.referenceStride, alignment: Self.cacheLine)
        for client in 0..<max(clients, 1) {
            (references + client * Self.referenceStride).bindMemory(to: Mutex<References>.self, capacity: 1).initialize(to: Mutex(References(repeating: nil)))
        }
    }

    deinit {
        words.deinitialize(count: max(clientCount, 1) * Self.blockWords)
        words.deallocate()
        for client in 0..<max(clientCount, 1) { table(client).deinitialize(count: 1) }
        references.deallocate()
    }

    @inline(__always)
    private func block(_ client: Int) -> UnsafeMutablePointer<Atomic<UInt64>> {
        precondition(UInt(bitPattern: client) < UInt(bitPattern: clientCount), "SessionBoard: no client \(client)")
        return words + client &* Self.blockWords
    }

    /// `client`'s reference table (`client` checked by `block`).
    @inline(__always)
    private func table(_ client: Int) -> UnsafeMutablePointer<Mutex<References>> {
        (references + client &* Self.referenceStride).assumingMemoryBound(to: Mutex<References>.self)
    }

    @inline(__always)
    private func entry(_ block: UnsafeMutablePointer<Atomic<UInt64>>, _ index: Int) -> UnsafeMutablePointer<Atomic<UInt64>> {
        block + Header.words + index &* Entry.words
    }

    // MARK: Writing (the client's own worker)

    /// Every backend PID a client talked to, with the client (all connections
    /// and reconnections of the run): the shard's PID map.
    var clientsByPID: [Int32: Int] { clientByPID.withLock { $0 } }

    /// Client `client` now talks to backend `pid` (at connect and reconnect).
    func connected(client: Int, pid: Int32) {
        clientByPID.withLock { $0[pid] = client }
        let block = block(client)
        table(client).pointee.withLock { held in
            let version = block[Header.version].load(ordering: .relaxed)
            block[Header.version].store(version &+ 1, ordering: .relaxed)
            atomicMemoryFence(ordering: .releasing)
            block[Header.sent].store(0, ordering: .relaxed)
            block[Header.version].store(version &+ 2, ordering: .releasing)
            for slot in held.indices { held[slot] = nil }
        }
        block[Header.usesLow].store(0, ordering: .relaxed)
        block[Header.usesHigh].store(0, ordering: .relaxed)
        block[Header.lastTexts].store(0, ordering: .relaxed)
        block[Header.held].store(0, ordering: .relaxed)
    }

    /// Returns the statement's sequence number, for `completed(client:sequence:at:)`.
    @discardableResult
    func sent(client: Int, _ statement: Statement) -> UInt64 {
        record(
            client: client, transaction: statement.transaction, step: statement.step, sql: statement.sql, parameters: statement.parameters,
            sentAt: statement.sentAt, completedAt: statement.completedAt ?? Self.inFlight
        )
    }

    /// Like `sent(client:_:)`, field by field: building a `Statement` to pass
    /// copied it whole (a `memcpy` call per statement) on the hot path.
    @discardableResult
    func sent(client: Int, transaction: Int, step: Int?, sql: String, parameters: StatementParameters, at time: UInt64) -> UInt64 {
        record(client: client, transaction: transaction, step: step, sql: sql, parameters: parameters, sentAt: time, completedAt: Self.inFlight)
    }

    /// Starts loading the entry of statement `sequence` of `client` into the
    /// cache, for a `completed(client:sequence:at:)` soon after (see
    /// `Worker.prefetchReadyClients`).
    @inline(__always)
    func prefetch(client: Int, sequence: UInt64) {
        #if os(Linux)
        guard UInt(bitPattern: client) < UInt(bitPattern: clientCount) else { return }
        ls_prefetch(UnsafeRawPointer(entry(words + client &* Self.blockWords, Int(sequence % UInt64(Self.history)))))
        #endif
    }

    /// The statement whose `sent` returned `sequence` has completed (the
    /// client's last: one is in flight at a time).
    ///
    /// One store, no version change: the word is read whole, and a reader
    /// sees the statement either still in flight or completed. Taking the
    /// sequence from the caller spares reading the header: at hundreds of
    /// clients the header and the entry were a cache miss each (`completed`
    /// was 2.5 % of lockstorm's CPU at 256 clients, perf); one is left.
    func completed(client: Int, sequence: UInt64, at time: UInt64) {
        let last = entry(block(client), Int(sequence % UInt64(Self.history)))
        if last[Entry.completedAt].load(ordering: .relaxed) == Self.inFlight {
            last[Entry.completedAt].store(time, ordering: .relaxed)
        }
    }

    private func record(client: Int, transaction: Int, step: Int?, sql: String, parameters: StatementParameters, sentAt: UInt64, completedAt: UInt64) -> UInt64 {
        let block = block(client)
        // What it is in plan terms, and the variable texts it reads.
        var kind = Kind.verbatim
        var index = 0
        var texts: ObjectIdentifier?
        if let step {
            // The same text and sources as the plan's (identical storage: a
            // few loads), read against the attempt's texts.
            if let at = stepIndex(transaction: transaction, step: step), sql == steps[at].sql, parameters.reads(steps[at].sources, clientID: client) {
                (kind, index, texts) = (.step, step, parameters.variableTextsIdentity)
            }
        } else if parameters.isEmpty {
            // Lengths first: comparing unequal strings is the slow path.
            let length = sql.utf8.count
            if length == 6, sql == "COMMIT" {
                kind = .commit
            } else if length == 8, sql == "ROLLBACK" {
                kind = .rollback
            } else if UInt(bitPattern: transaction) < UInt(bitPattern: begins.count), sql == begins[transaction] {
                kind = .begin
            }
        }
        if kind == .verbatim, step == nil, let setting = setting(transaction: transaction, sql: sql, parameters: parameters) {
            (kind, index) = (.setting, setting)
        }

        let sent = block[Header.sent].load(ordering: .relaxed)
        let at = entry(block, Int(sent % UInt64(Self.history)))
        var uses = Uses(low: block[Header.usesLow].load(ordering: .relaxed), high: block[Header.usesHigh].load(ordering: .relaxed))
        // The entry overwritten lets go of its reference.
        if sent >= UInt64(Self.history) {
            let evicted = Self.slot(at[Entry.code].load(ordering: .relaxed))
            if evicted != Self.noSlot { uses.remove(evicted) }
        }
        let held = block[Header.held].load(ordering: .relaxed)
        var slot = Self.noSlot
        var assign = false
        if let texts {
            // Steps of one attempt share their texts: kept once.
            let identity = UInt64(UInt(bitPattern: texts))
            let last = Int(block[Header.lastSlot].load(ordering: .relaxed))
            if identity == block[Header.lastTexts].load(ordering: .relaxed), held & 1 << UInt64(last) != 0 {
                slot = last
            } else {
                slot = uses.firstFree
                assign = true
                block[Header.lastTexts].store(identity, ordering: .relaxed)
                block[Header.lastSlot].store(UInt64(slot), ordering: .relaxed)
            }
        } else if kind == .verbatim {
            slot = uses.firstFree
            assign = true
            if slot == Int(block[Header.lastSlot].load(ordering: .relaxed)) { block[Header.lastTexts].store(0, ordering: .relaxed) }
        }
        if slot != Self.noSlot { uses.add(slot) }
        block[Header.usesLow].store(uses.low, ordering: .relaxed)
        block[Header.usesHigh].store(uses.high, ordering: .relaxed)

        let code = UInt64(truncatingIfNeeded: index) & 0xFFFF_FFFF | kind.rawValue << 32 | UInt64(truncatingIfNeeded: slot &+ 1) << 40
        guard assign else {
            Self.write(block: block, entry: at, sent: sent, sentAt: sentAt, completedAt: completedAt, transaction: transaction, code: code)
            return sent
        }
        // The table changes: the new reference goes in, and the ones no kept
        // entry refers to any more go.
        let keep = uses.inUse
        block[Header.held].store(keep, ordering: .relaxed)
        let reference: Held? = kind == .step ? parameters.variableTexts.map(Held.texts) : .verbatim(Verbatim(step: step, sql: sql, parameters: parameters))
        replace(client: client, release: held & ~keep, slot: slot, with: reference) {
            Self.write(block: block, entry: at, sent: sent, sentAt: sentAt, completedAt: completedAt, transaction: transaction, code: code)
        }
        return sent
    }

    /// Clears the reference slots in `release` (a bit each), puts `held` in
    /// `slot`, and writes the entry, all under the client's lock: a reader
    /// never sees an entry whose reference is not yet in the table, and never
    /// one whose reference is gone (no kept entry refers to those released).
    @inline(never)
    private func replace(client: Int, release: UInt64, slot: Int, with held: consuming Held?, write: () -> Void) {
        table(client).pointee.withLock { table in
            var release = release
            while release != 0 {
                table[release.trailingZeroBitCount] = nil
                release &= release &- 1
            }
            if let held = held.take() { table[slot] = held }
            write()
        }
    }

    /// The setting of `transaction` that `sql` with `parameters` is.
    @inline(never)
    private func setting(transaction: Int, sql: String, parameters: StatementParameters) -> Int? {
        guard UInt(bitPattern: transaction) < UInt(bitPattern: settings.count) else { return nil }
        guard let index = settings[transaction].firstIndex(where: { $0.sql == sql && parameters.elementsEqual($0.parameters) }) else { return nil }
        return index <= UInt32.max ? index : nil
    }

    /// Writes entry `entry` as statement number `sent` under the version.
    @inline(__always)
    private static func write(
        block: UnsafeMutablePointer<Atomic<UInt64>>, entry: UnsafeMutablePointer<Atomic<UInt64>>, sent: UInt64,
        sentAt: UInt64, completedAt: UInt64, transaction: Int, code: UInt64
    ) {
        let version = block[Header.version].load(ordering: .relaxed)
        block[Header.version].store(version &+ 1, ordering: .relaxed)
        atomicMemoryFence(ordering: .releasing)
        entry[Entry.sentAt].store(sentAt, ordering: .relaxed)
        entry[Entry.completedAt].store(completedAt, ordering: .relaxed)
        entry[Entry.transaction].store(UInt64(bitPattern: Int64(transaction)), ordering: .relaxed)
        entry[Entry.code].store(code, ordering: .relaxed)
        block[Header.sent].store(sent &+ 1, ordering: .relaxed)
        block[Header.version].store(version &+ 2, ordering: .releasing)
    }

    /// Where step `step` of transaction `transaction` is in the flat step arrays.
    @inline(__always)
    private func stepIndex(transaction: Int, step: Int) -> Int? {
        guard UInt(bitPattern: transaction) < UInt(bitPattern: stepRanges.count) else { return nil }
        let range = stepRanges[transaction]
        guard UInt(bitPattern: step) < UInt(bitPattern: range.count) else { return nil }
        return range.first &+ step
    }

    private static func slot(_ code: UInt64) -> Int {
        Int((code >> 40) & 0xFF) - 1
    }

    /// Sixteen byte counters in two words (a count never exceeds `history`).
    private struct Uses {
        var low: UInt64
        var high: UInt64

        @inline(__always)
        subscript(slot: Int) -> UInt64 {
            ((slot < 8 ? low : high) >> UInt64((slot & 7) * 8)) & 0xFF
        }

        @inline(__always)
        mutating func add(_ slot: Int) {
            if slot < 8 { low &+= 1 << UInt64(slot * 8) } else { high &+= 1 << UInt64((slot - 8) * 8) }
        }

        @inline(__always)
        mutating func remove(_ slot: Int) {
            if slot < 8 { low &-= 1 << UInt64(slot * 8) } else { high &-= 1 << UInt64((slot - 8) * 8) }
        }

        /// A bit per slot some entry refers to.
        var inUse: UInt64 {
            Self.nonzeroBytes(low) | Self.nonzeroBytes(high) << 8
        }

        /// Bit `i` set when byte `i` of `word` is not zero: the high bit of
        /// each byte gathered (each lands alone in the top byte of the product).
        private static func nonzeroBytes(_ word: UInt64) -> UInt64 {
            let high = (((word & 0x7F7F_7F7F_7F7F_7F7F) &+ 0x7F7F_7F7F_7F7F_7F7F) | word) & 0x8080_8080_8080_8080
            return ((high >> 7) &* 0x0102_0408_1020_4080) >> 56
        }

        /// A slot no entry refers to. There is one: at most `history - 1`
        /// entries are kept besides the one being written.
        var firstFree: Int {
            if let byte = Self.zeroByte(low) { return byte }
            if let byte = Self.zeroByte(high) { return 8 + byte }
            preconditionFailure("SessionBoard: every reference slot in use")
        }

        /// The lowest zero byte of `word` (bytes never reach 0x80).
        private static func zeroByte(_ word: UInt64) -> Int? {
            let zeros = (word &- 0x0101_0101_0101_0101) & ~word & 0x8080_8080_8080_8080
            return zeros == 0 ? nil : zeros.trailingZeroBitCount / 8
        }
    }

    // MARK: Reading (any worker, after a deadlock)

    /// The statements `client` keeps, oldest first: a consistent copy of its
    /// block, rebuilt from the plan and the references it holds.
    private func statements(client: Int) -> [Statement] {
        let block = block(client)
        return table(client).pointee.withLock { table -> [Statement] in
            // `history` entries of `Entry.words`.
            var copy = InlineArray<64, UInt64>(repeating: 0)
            var sent: UInt64 = 0
            var tries = 0
            while true {
                let version = block[Header.version].load(ordering: .acquiring)
                if version & 1 == 0 {
                    sent = block[Header.sent].load(ordering: .relaxed)
                    for word in 0..<(Self.history * Entry.words) {
                        copy[word] = block[Header.words + word].load(ordering: .relaxed)
                    }
                    atomicMemoryFence(ordering: .acquiring)
                    if block[Header.version].load(ordering: .relaxed) == version { break }
                }
                // The writer is in the middle of a statement (a few dozen
                // instructions), unless it was preempted there.
                tries += 1
                if tries % 64 == 0 { sched_yield() }
            }
            let kept = Int(min(sent, UInt64(Self.history)))
            let oldest = Int(sent % UInt64(Self.history))
            var statements: [Statement] = []
            statements.reserveCapacity(kept)
            for offset in 0..<kept {
                let index = (sent < UInt64(Self.history) ? offset : oldest + offset) % Self.history
                let base = index * Entry.words
                statements.append(rebuild(
                    client: client, sentAt: copy[base + Entry.sentAt], completedAt: copy[base + Entry.completedAt],
                    transaction: copy[base + Entry.transaction], code: copy[base + Entry.code], table: table
                ))
            }
            return statements
        }
    }

    /// The statement an entry stands for. Called with the client's
    /// references locked: what its slot holds is what it referred to.
    private func rebuild(client: Int, sentAt: UInt64, completedAt: UInt64, transaction word: UInt64, code: UInt64, table: References) -> Statement {
        let transaction = Int(Int64(bitPattern: word))
        let index = Int(code & 0xFFFF_FFFF)
        let slot = Self.slot(code)
        let held: Held? = slot == Self.noSlot ? nil : table[slot]
        var statement = Statement(
            transaction: transaction, step: nil, sql: "", parameters: [], sentAt: sentAt, completedAt: completedAt == Self.inFlight ? nil : completedAt
        )
        switch Kind(rawValue: (code >> 32) & 0xFF) {
        case .step?:
            guard case .texts(let texts)? = held, let at = stepIndex(transaction: transaction, step: index) else {
                preconditionFailure("SessionBoard: a step entry without its texts")
            }
            statement.step = index
            statement.sql = steps[at].sql
            statement.parameters = StatementParameters(sources: steps[at].sources, variables: texts, clientID: client)
        case .begin?:
            statement.sql = begins[transaction]
        case .setting?:
            statement.sql = settings[transaction][index].sql
            statement.parameters = StatementParameters(settings[transaction][index].parameters)
        case .commit?:
            statement.sql = "COMMIT"
        case .rollback?:
            statement.sql = "ROLLBACK"
        case .verbatim?, nil:
            guard case .verbatim(let verbatim)? = held else { preconditionFailure("SessionBoard: an entry without its statement") }
            statement.step = verbatim.step
            statement.sql = verbatim.sql
            statement.parameters = verbatim.parameters
        }
        return statement
    }

    /// The client behind `pid`, and the statement it was waiting in when the
    /// deadlock check ran at `detection`: the one sent before and completed
    /// after it (or still in flight).
    ///
    /// The others in a cycle are woken when the victim aborts and may have
    /// moved on by the time the victim's worker asks, so "the latest
    /// statement" would often be the wrong one. When no statement spans the
    /// moment (an estimate can be early by the time the victim's statement ran
    /// before it began to wait), the last one sent before it is taken.
    func lookup(pid: Int32, detection: UInt64) -> (client: Int, statement: Statement?)? {
        guard let client = clientByPID.withLock({ $0[pid] }) else { return nil }
        let recent = statements(client: client)
        let spanning = recent.first { $0.sentAt <= detection && ($0.completedAt ?? .max) >= detection }
        return (client, spanning ?? recent.last { $0.sentAt <= detection } ?? recent.first)
    }

    /// The statements of the attempt `statement` belongs to, from its BEGIN
    /// through `statement` (matched by send time); empty when the BEGIN has
    /// already left the history.
    func attempt(client: Int, through statement: Statement) -> [Statement] {
        let recent = statements(client: client)
        guard let end = recent.lastIndex(where: { $0.sentAt == statement.sentAt && $0.sql == statement.sql }) else { return [] }
        guard let begin = recent[...end].lastIndex(where: { $0.step == nil && ($0.sql.hasPrefix("BEGIN") || $0.sql.hasPrefix("START")) }) else { return [] }
        return Array(recent[begin...end])
    }

    /// The client behind backend `pid` (nil: not one of the run's).
    func client(pid: Int32) -> Int? {
        clientByPID.withLock { $0[pid] }
    }

    /// The statement `client` sent last.
    func current(client: Int) -> Statement? {
        statements(client: client).last
    }

    /// The statements `client` keeps, oldest first (tests).
    func recent(client: Int) -> [Statement] {
        statements(client: client)
    }
}

extension SessionBoard {
    /// What `client`'s reference table holds (tests): variable texts, and
    /// statements kept verbatim.
    func heldReferences(client: Int) -> (texts: Int, verbatim: Int) {
        _ = block(client)
        return table(client).pointee.withLock { table in
            var counts = (texts: 0, verbatim: 0)
            for slot in table.indices {
                switch table[slot] {
                case .texts?: counts.texts += 1
                case .verbatim?: counts.verbatim += 1
                case nil: break
                }
            }
            return counts
        }
    }
}
