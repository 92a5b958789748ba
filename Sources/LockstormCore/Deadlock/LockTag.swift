/// What a PostgreSQL lock is on, as the server names it in deadlock reports.
///
/// Parsed from the text of PostgreSQL's `DescribeLockTag`
/// (src/backend/utils/adt/lockfuncs.c), which is the same in every
/// supported version apart from forms that later versions added. Anything
/// else, including a translated server message, is kept whole in `other`.
public enum LockTag: Hashable, Sendable {
    /// `transaction 755`: waiting for that transaction to end (row locks held by it).
    case transaction(UInt64)
    /// `tuple (0,39) of relation 16384 of database 5`: the per-row lock queued
    /// writers take while another transaction holds the row.
    case tuple(block: UInt32, offset: UInt16, relation: UInt32, database: UInt32)
    /// `relation 16384 of database 5`: a table-level lock (LOCK TABLE, DDL, DML).
    case relation(UInt32, database: UInt32)
    /// `extension of relation 16384 of database 5`.
    case relationExtension(relation: UInt32, database: UInt32)
    /// `page 3 of relation 16384 of database 5`.
    case page(UInt32, relation: UInt32, database: UInt32)
    /// `advisory lock [5,0,42,1]`: database, the key's two halves, and
    /// `field4`, which says how the key was given (see `advisoryKeys`).
    case advisory(database: UInt32, key1: UInt32, key2: UInt32, field4: UInt16)
    /// `virtual transaction 4/123`: backend and local transaction number,
    /// e.g. CREATE INDEX CONCURRENTLY waiting for older snapshots.
    case virtualTransaction(backend: Int32, localTransaction: UInt32)
    /// `speculative token 7 of transaction 755`: an INSERT … ON CONFLICT in flight.
    case speculativeToken(UInt32, transaction: UInt32)
    /// `object 1234 of class 1259 of database 5`: a catalog object (function, type, role…).
    case object(UInt32, classID: UInt32, database: UInt32)
    /// `remote transaction 5 of subscription 6 of database 7` (PostgreSQL 16+).
    case remoteTransaction(UInt32, subscription: UInt32, database: UInt32)
    /// `pg_database.datfrozenxid of database 5` (PostgreSQL 16+).
    case databaseFrozenIDs(database: UInt32)
    /// Any text this parser does not know, kept as PostgreSQL wrote it.
    case other(String)

    /// How an advisory lock's key was given to `pg_advisory_*`.
    public enum AdvisoryKeys: Hashable, Sendable {
        /// `pg_advisory_lock(bigint)`.
        case single(Int64)
        /// `pg_advisory_lock(int, int)`.
        case pair(Int32, Int32)
    }

    /// The key the application passed, for advisory locks whose `field4`
    /// says how it was split; nil for everything else.
    ///
    /// PostgreSQL stores a bigint key as its high and low 32 bits with
    /// field4 = 1, and a pair of int4 keys as their bit patterns with
    /// field4 = 2.
    public var advisoryKeys: AdvisoryKeys? {
        guard case let .advisory(_, key1, key2, field4) = self else { return nil }
        switch field4 {
        case 1: return .single(Int64(bitPattern: UInt64(key1) << 32 | UInt64(key2)))
        case 2: return .pair(Int32(bitPattern: key1), Int32(bitPattern: key2))
        default: return nil
        }
    }

    /// A short word for the kind of lock, used in deadlock signatures.
    ///
    /// These are `pg_locks.locktype`'s names, so a sampler reading pg_locks
    /// gets the same word, except that `transactionid` is shortened to
    /// `transaction`.
    public var kind: String {
        switch self {
        case .transaction: "transaction"
        case .tuple: "tuple"
        case .relation: "relation"
        case .relationExtension: "extend"
        case .page: "page"
        case .advisory: "advisory"
        case .virtualTransaction: "virtualxid"
        case .speculativeToken: "spectoken"
        case .object: "object"
        case .remoteTransaction: "applytransaction"
        case .databaseFrozenIDs: "frozenid"
        case .other: "other"
        }
    }

    /// The lock in plain words, without the database OID (a run uses one
    /// database), e.g. "row (0,39) of relation 16384" or "advisory lock 42".
    public var summary: String { summary(names: [:]) }

    /// The relation OIDs the tag names, with their database.
    public var relations: [(relation: UInt32, database: UInt32)] {
        switch self {
        case let .tuple(_, _, relation, database), let .relation(relation, database),
             let .relationExtension(relation, database), let .page(_, relation, database):
            [(relation, database)]
        default:
            []
        }
    }

    /// `summary` with relation OIDs replaced by the names in `names`
    /// ("row (0,39) of accounts", "table accounts"); an OID without a name
    /// (a table dropped before it could be looked up) stays a number.
    public func summary(names: [UInt32: String]) -> String {
        func table(_ oid: UInt32) -> String { names[oid] ?? "relation \(oid)" }
        switch self {
        case let .transaction(xid):
            return "transaction \(xid)"
        case let .tuple(block, offset, relation, _):
            return "row (\(block),\(offset)) of \(table(relation))"
        case let .relation(relation, _):
            return names[relation].map { "table \($0)" } ?? "relation \(relation)"
        case let .relationExtension(relation, _):
            return "extension of \(table(relation))"
        case let .page(page, relation, _):
            return "page \(page) of \(table(relation))"
        case .advisory:
            switch advisoryKeys {
            case let .single(key): return "advisory lock \(key)"
            case let .pair(key1, key2): return "advisory lock (\(key1), \(key2))"
            case nil: return postgresText
            }
        case let .virtualTransaction(backend, local):
            return "virtual transaction \(backend)/\(local)"
        case let .speculativeToken(token, xid):
            return "speculative insertion \(token) of transaction \(xid)"
        case let .object(object, classID, _):
            return "object \(object) of catalog \(classID)"
        case let .remoteTransaction(xid, subscription, _):
            return "remote transaction \(xid) of subscription \(subscription)"
        case let .databaseFrozenIDs(database):
            return "frozen transaction IDs of database \(database)"
        case let .other(text):
            return text
        }
    }

    /// The tag in PostgreSQL's own words; `LockTag(postgresText:)` reads it back.
    public var postgresText: String {
        switch self {
        case let .transaction(xid):
            "transaction \(xid)"
        case let .tuple(block, offset, relation, database):
            "tuple (\(block),\(offset)) of relation \(relation) of database \(database)"
        case let .relation(relation, database):
            "relation \(relation) of database \(database)"
        case let .relationExtension(relation, database):
            "extension of relation \(relation) of database \(database)"
        case let .page(page, relation, database):
            "page \(page) of relation \(relation) of database \(database)"
        case let .advisory(database, key1, key2, field4):
            "advisory lock [\(database),\(key1),\(key2),\(field4)]"
        case let .virtualTransaction(backend, local):
            "virtual transaction \(backend)/\(local)"
        case let .speculativeToken(token, xid):
            "speculative token \(token) of transaction \(xid)"
        case let .object(object, classID, database):
            "object \(object) of class \(classID) of database \(database)"
        case let .remoteTransaction(xid, subscription, database):
            "remote transaction \(xid) of subscription \(subscription) of database \(database)"
        case let .databaseFrozenIDs(database):
            "pg_database.datfrozenxid of database \(database)"
        case let .other(text):
            text
        }
    }

    /// Reads a lock tag as `DescribeLockTag` writes it; text of no known
    /// form (or with numbers out of range) becomes `.other(text)`.
    public init<Text: StringProtocol>(postgresText text: Text) {
        let text = Substring(text)
        for parse in Self.forms {
            var scanner = MessageScanner(text)
            if let tag = parse(&scanner), scanner.isAtEnd {
                self = tag
                return
            }
        }
        self = .other(String(text))
    }

    /// One reader per `DescribeLockTag` format. A match must consume the
    /// whole text, so their order does not matter.
    private static let forms: [@Sendable (inout MessageScanner) -> LockTag?] = [
        { s in
            guard s.skip("transaction "), let xid = s.unsigned(UInt64.self) else { return nil }
            return .transaction(xid)
        },
        { s in
            guard s.skip("tuple ("), let block = s.unsigned(UInt32.self), s.skip(","),
                  let offset = s.unsigned(UInt16.self), s.skip(") of relation "),
                  let relation = s.unsigned(UInt32.self), s.skip(" of database "),
                  let database = s.unsigned(UInt32.self) else { return nil }
            return .tuple(block: block, offset: offset, relation: relation, database: database)
        },
        { s in
            guard s.skip("relation "), let relation = s.unsigned(UInt32.self), s.skip(" of database "),
                  let database = s.unsigned(UInt32.self) else { return nil }
            return .relation(relation, database: database)
        },
        { s in
            guard s.skip("extension of relation "), let relation = s.unsigned(UInt32.self), s.skip(" of database "),
                  let database = s.unsigned(UInt32.self) else { return nil }
            return .relationExtension(relation: relation, database: database)
        },
        { s in
            guard s.skip("page "), let page = s.unsigned(UInt32.self), s.skip(" of relation "),
                  let relation = s.unsigned(UInt32.self), s.skip(" of database "),
                  let database = s.unsigned(UInt32.self) else { return nil }
            return .page(page, relation: relation, database: database)
        },
        { s in
            guard s.skip("advisory lock ["), let database = s.unsigned(UInt32.self), s.skip(","),
                  let key1 = s.unsigned(UInt32.self), s.skip(","), let key2 = s.unsigned(UInt32.self), s.skip(","),
                  let field4 = s.unsigned(UInt16.self), s.skip("]") else { return nil }
            return .advisory(database: database, key1: key1, key2: key2, field4: field4)
        },
        { s in
            guard s.skip("virtual transaction "), let backend = s.signed(Int32.self), s.skip("/"),
                  let local = s.unsigned(UInt32.self) else { return nil }
            return .virtualTransaction(backend: backend, localTransaction: local)
        },
        { s in
            guard s.skip("speculative token "), let token = s.unsigned(UInt32.self), s.skip(" of transaction "),
                  let xid = s.unsigned(UInt32.self) else { return nil }
            return .speculativeToken(token, transaction: xid)
        },
        { s in
            guard s.skip("object "), let object = s.unsigned(UInt32.self), s.skip(" of class "),
                  let classID = s.unsigned(UInt32.self), s.skip(" of database "),
                  let database = s.unsigned(UInt32.self) else { return nil }
            return .object(object, classID: classID, database: database)
        },
        { s in
            guard s.skip("remote transaction "), let xid = s.unsigned(UInt32.self), s.skip(" of subscription "),
                  let subscription = s.unsigned(UInt32.self), s.skip(" of database "),
                  let database = s.unsigned(UInt32.self) else { return nil }
            return .remoteTransaction(xid, subscription: subscription, database: database)
        },
        { s in
            guard s.skip("pg_database.datfrozenxid of database "), let database = s.unsigned(UInt32.self) else { return nil }
            return .databaseFrozenIDs(database: database)
        },
    ]
}

extension LockTag: CustomStringConvertible {
    public var description: String { summary }
}
