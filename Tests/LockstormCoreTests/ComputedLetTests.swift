import Testing
@testable import LockstormCore

/// `let` values computed from earlier draws (`least`, `greatest`, `sorted`,
/// subscripts): what `validate` says about misuse, and what it folds.
@Suite struct ComputedLetTests {
    @Test func computedLetValuesThatCannotWorkAreReportedWhereTheyAre() {
        #expect(diagnostics("""
            name: t
            params: { n: 10 }
            transactions:
              tx:
                let:
                  a: uniform(1, :n)
                  kind: choice('x', 'y')
                  lo: least(a, kind)
                  ids: sorted(a, :n)
                  third: ids[3]
                  early: least(a, later)
                  later: greatest(a, 1)
                  twice: least(a, 2) != a
                  nested: least(uniform(1, 5), a)
                  typo: leest(a, 1)
                steps: [SELECT :lo]
            """) == [
            "w.yaml:8:7: 'lo' in transaction 'tx': least cannot compare integer 1 with string 'x': give it values of one type",
            "w.yaml:10:7: 'third' in transaction 'tx': subscript 3 is outside the list's 2 values (subscripts count from 1, as in PostgreSQL arrays)",
            "w.yaml:11:7: 'early' in transaction 'tx' uses 'later', which is neither a parameter nor a variable drawn before it (expected one of: a, kind, lo, ids, third, n)",
            "w.yaml:13:7: 'twice' in transaction 'tx' is computed from other variables, not drawn: it cannot be redrawn until it differs ('!= a'); make the variables it is computed from differ instead",
            "w.yaml:14:7: 'nested' in transaction 'tx': a random draw must be the whole value (uniform(1, :n)), not part of an expression; draw it into a variable of its own and use that",
            "w.yaml:15:13: unknown function 'leest'; did you mean 'least'?",
        ])
    }

    @Test func computedLetValuesOverParametersAreConstants() throws {
        let plan = try makePlan("""
            name: t
            params: { n: 10, m: 4 }
            transactions:
              tx:
                let:
                  lo: least(:n, :m)
                  order: sorted(:n, :m, 7)
                steps:
                  - SELECT :lo, :order
            """)
        #expect(plan.transactions[0].draws.map(\.distribution) == [.constant(.int(4)), .constant(.list([.int(4), .int(7), .int(10)]))])
        #expect(plan.transactions[0].steps[0] == .sql(sql: "SELECT $1, $2", parameters: [.variable(0), .variable(1)]))
    }
}
