/// The bind parameters of one statement, as the client machine hands them
/// to the engine (`nil`: SQL NULL).
///
/// No array of values is built per statement: a step's parameters are its
/// compiled sources read against the attempt's variable texts, and both
/// arrays are shared, not copied (sending a statement retains them). The
/// machine's variable texts are copied only when it changes them while a
/// statement still refers to them (the next draw or a capture): once per
/// attempt rather than once per statement. So a statement keeps showing the
/// values it was sent with, for as long as it is kept (deadlock reports).
///
/// A collection of the values, equal when the values are: tests and reports
/// read it like the `[String?]` it stands for.
public struct StatementParameters: Sendable, Hashable, RandomAccessCollection, ExpressibleByArrayLiteral {
    /// Where each value comes from (unless `direct`).
    // Not an optional array: copying `[ParameterSource]?` went through an
    // outlined copy with a generic metadata lookup, ~80 instructions a time.
    @usableFromInline let sources: [ParameterSource]
    /// `texts` are the values, in order; `sources` is empty.
    @usableFromInline let direct: Bool
    /// The values (`direct`), or the variable texts by slot.
    @usableFromInline let texts: [String?]
    /// For `.clientID` sources.
    @usableFromInline let clientID: Int

    /// These values, in order.
    public init(_ values: [String?]) {
        sources = []
        direct = true
        texts = values
        clientID = 0
    }

    public init(arrayLiteral values: String?...) {
        self.init(values)
    }

    /// A step's parameters: `sources` read against `variableTexts` (by slot)
    /// and the client's number.
    public init(sources: [ParameterSource], variableTexts: [String?], clientID: Int) {
        self.sources = sources
        direct = false
        texts = variableTexts
        self.clientID = clientID
    }

    public var startIndex: Int { 0 }

    // Inlinable, and `count` spelled out: the engine asks for it on every statement.
    @inlinable
    public var endIndex: Int { direct ? texts.count : sources.count }

    @inlinable
    public var count: Int { endIndex }

    // Inlinable: the engine reads every parameter of every statement through it.
    @inlinable
    public subscript(position: Int) -> String? {
        if direct { return texts[position] }
        switch sources[position] {
        case .constant(let text): return text
        case .variable(let slot): return texts[slot]
        case .clientID: return String(clientID)
        }
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.elementsEqual(rhs)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(count)
        for value in self { hasher.combine(value) }
    }
}
