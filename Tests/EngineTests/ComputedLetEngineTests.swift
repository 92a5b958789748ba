import Engine
import Foundation
import LockstormCore
import PostgresClient
import Testing
import TestSupport

@Suite("Computed let values on a real server", .serialized, .disabled(if: TestServer.skipped, "LOCKSTORM_SKIP_DB_TESTS=1"))
struct ComputedLetEngineTests {
    /// workloads/README.md's cart: three distinct products per checkout,
    /// decremented in id order (sorted on the client), pipelined, and the
    /// sorted list stored as an array.
    static let cart = """
        name: cart
        params: { products: 6, stock: 100000 }
        setup: |
          CREATE TABLE products (id int PRIMARY KEY, stock bigint NOT NULL);
          INSERT INTO products SELECT g, :stock::bigint FROM generate_series(1, :products::int) g;
          CREATE TABLE orders (product_ids int[] NOT NULL);
        teardown: DROP TABLE IF EXISTS products, orders;
        transactions:
          checkout:
            pipeline: true
            let:
              a: uniform(1, :products)
              b: uniform(1, :products) != a
              c: uniform(1, :products) != a, b
              ids: sorted(a, b, c)
              first: least(a, b, c)
              second: ids[2]
              third: greatest(a, b, c)
            steps:
              - UPDATE products SET stock = stock - 1 WHERE id = :first
              - UPDATE products SET stock = stock - 1 WHERE id = :second
              - UPDATE products SET stock = stock - 1 WHERE id = :third
              - INSERT INTO orders VALUES (:ids::int[])
        invariants:
          - name: three products per order
            sql: SELECT sum(:stock::bigint - stock) - 3 * (SELECT count(*) FROM orders) FROM products
            equals: 0
          - name: every order's ids sorted and distinct
            sql: SELECT count(*) FROM orders WHERE product_ids <> ARRAY(SELECT DISTINCT x FROM unnest(product_ids) x ORDER BY x) OR cardinality(product_ids) <> 3
            equals: 0
        """

    @Test("the cart workload locks its drawn products in id order: no deadlock, every order's ids stored sorted")
    func cartLocksInIdOrder() throws {
        try TestServer.with(deadlockTimeoutMilliseconds: 50) { server in
            let plan = try WorkloadParser.parse(Self.cart, file: "cart.yaml").plan()
            let options = LoadOptions(clients: 8, threads: 2, durationSeconds: 2, seed: 11)
            let outcome = try LoadRunner.run(plan: plan, dsn: server.dsn, options: options, stop: StopSignal())
            let total = outcome.summary.stats.total
            #expect(total.committed > 100)
            #expect(total.count(.deadlock) == 0)
            #expect(total.failed == 0)
            #expect(outcome.summary.invariants.count == 2)
            for invariant in outcome.summary.invariants {
                #expect(invariant.passed, "\(invariant.name): \(invariant.actual ?? invariant.error ?? "NULL")")
            }
            print("cart: \(total.committed) checkouts committed, \(total.count(.deadlock)) deadlocks")
        }
    }
}
