/// The bind parameters of one statement, as the client machine hands them
/// to the engine (`nil`: SQL NULL).
///
/// No array of values is built per statement: a step's parameters are its
/// compiled sources read against the attempt's variable texts, both shared,
/// not copied (sending a statement retains them). The texts are written only
/// while no statement refers to them (see `VariableTexts`), so a statement
/// keeps the values it was sent with for as long as it is kept (the session
/// board keeps the last few, for deadlock reports).
///
/// Plain values (BEGIN's none, a setting's) are constant sources without
/// variables: two references, not three, to retain and release each time a
/// statement's parameters are copied (the action, the engine's bindings, the
/// session board) or destroyed.
///
/// A collection of the values, equal when the values are: tests and reports
/// read it like the `[String?]` it stands for.
public struct StatementParameters: Sendable, Hashable, RandomAccessCollection, ExpressibleByArrayLiteral {
    /// Where each value comes from.
    // Not optional: copying a `[ParameterSource]?` went through an outlined
    // copy with a generic metadata lookup, ~80 instructions a time.
    @usableFromInline let sources: [ParameterSource]
    /// The attempt's variable texts, by slot; `nil` when every source is a constant.
    @usableFromInline let variables: VariableTexts?
    /// For `.clientID` sources.
    @usableFromInline let clientID: Int

    /// These values, in order. Copies them into constant sources: the
    /// client machine makes its settings' parameters once, not per statement.
    public init(_ values: [String?]) {
        sources = values.isEmpty ? [] : values.map { .constant($0) }
        variables = nil
        clientID = 0
    }

    public init(arrayLiteral values: String?...) {
        self.init(values)
    }

    /// No parameters (BEGIN, COMMIT, ROLLBACK), made without an array to
    /// convert and release as `[]` has (~40 instructions).
    public static var empty: StatementParameters { StatementParameters(sources: [], variables: nil) }

    private init(sources: [ParameterSource], variables: VariableTexts?) {
        self.sources = sources
        self.variables = variables
        clientID = 0
    }

    /// A step's parameters: `sources` read against `variables` (by slot) and
    /// the client's number.
    public init(sources: [ParameterSource], variables: VariableTexts, clientID: Int) {
        self.sources = sources
        self.variables = variables
        self.clientID = clientID
    }

    /// A step's parameters over these variable texts (tests).
    public init(sources: [ParameterSource], variableTexts: [String?], clientID: Int) {
        self.init(sources: sources, variables: VariableTexts(variableTexts), clientID: clientID)
    }

    public var startIndex: Int { 0 }

    // Inlinable, and `count` spelled out: the engine asks for it on every statement.
    @inlinable
    public var endIndex: Int { sources.count }

    @inlinable
    public var count: Int { endIndex }

    // Inlinable: the engine reads every parameter of every statement through it.
    @inlinable
    public subscript(position: Int) -> String? {
        switch sources[position] {
        case .constant(let text): return text
        // Only `init(sources:variables:clientID:)` makes variable sources, and it sets `variables`.
        case .variable(let slot): return variables?.texts[slot]
        case .clientID: return String(clientID)
        }
    }

    /// Whether these are `sources` read for client `clientID` against
    /// variable texts: then `StatementParameters(sources: sources, variables:
    /// variableTexts, clientID: clientID)` has the same values, which lets the
    /// session board keep only the texts, not the parameters, per statement.
    // Inlinable, the arrays compared by identity first: the engine asks on
    // every step it sends, and the array comparison is an outlined call.
    @inlinable
    public func reads(_ sources: [ParameterSource], clientID: Int) -> Bool {
        guard variables != nil, clientID == self.clientID else { return false }
        let same = sources.withUnsafeBufferPointer { lhs in
            self.sources.withUnsafeBufferPointer { $0.baseAddress == lhs.baseAddress && $0.count == lhs.count }
        }
        return same || sources == self.sources
    }

    /// The variable texts the values are read from (`nil`: fixed values).
    @inlinable
    public var variableTexts: VariableTexts? { variables }

    /// Which variable texts the values are read from, without retaining them.
    @inlinable
    public var variableTextsIdentity: ObjectIdentifier? { variables.map { ObjectIdentifier($0) } }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.elementsEqual(rhs)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(count)
        for value in self { hasher.combine(value) }
    }
}

/// The bind texts of an attempt's variables, by slot, shared by the
/// statements the attempt sends (`StatementParameters`).
///
/// `@unchecked Sendable`: the client machine that owns it writes it only
/// while nothing else refers to it (`isKnownUniquelyReferenced`), that is
/// before any statement (and so any other thread, through the session
/// board) can see it; from then on it is only read. The machine reuses a
/// box once the statements that shared it are gone, so drawing allocates
/// nothing once a client runs steadily.
public final class VariableTexts: @unchecked Sendable {
    // Run-time exclusivity checks off: they cost ~80 instructions per access
    // of a class property (~1,300 a transaction); writes happen only while
    // the box is uniquely referenced, so no access can overlap one.
    @exclusivity(unchecked) @usableFromInline var texts: [String?]

    init(count: Int) {
        texts = Array(repeating: nil, count: count)
    }

    init(_ texts: [String?]) {
        self.texts = texts
    }
}
