import Foundation

/// A realistic result directory (transfers / unordered: 16 clients, 9.5 s,
/// a deadlock storm from 3 s to 6 s), as the engine writes it. Kept as string
/// literals so the test target needs no resources.
enum ResultFixtures {
    /// `summary.csv`: two transaction types and `total`.
    static let summary = #"""
workload,variant,transaction,clients,duration_s,attempts,committed,failed,retries,deadlocks,lock_not_available,serialization_failures,statement_timeouts,connection_errors,other_errors,tps,lat_mean_ms,lat_p50_ms,lat_p90_ms,lat_p95_ms,lat_p99_ms,lat_p999_ms,lat_max_ms,invariant_failures
transfers,unordered,transfer,16,9.500,9077,9020,57,57,57,0,0,0,0,0,949.47,8.214,6.012,16.800,31.004,81.702,232.511,502.317,0
transfers,unordered,audit_read,16,9.500,2556,2544,12,12,0,12,0,0,0,0,267.79,3.906,2.871,7.012,12.450,38.118,121.000,260.402,0
transfers,unordered,total,16,9.500,11633,11564,69,69,57,12,0,0,0,0,1217.26,7.268,5.203,14.902,27.650,76.004,221.873,502.317,0

"""#

    /// `timeseries.csv`: ten intervals, the last one half a second long.
    static let timeseries = #"""
interval,start_s,end_s,tps,attempts,committed,failed,retries,deadlocks,lock_not_available,serialization_failures,statement_timeouts,connection_errors,other_errors,lat_p50_ms,lat_p99_ms
0,0.000,1.000,1312.00,1312,1312,0,0,0,0,0,0,0,0,5.800,62.100
1,1.000,2.000,1345.00,1345,1345,0,0,0,0,0,0,0,0,6.000,71.400
2,2.000,3.000,1298.00,1299,1298,1,1,0,1,0,0,0,0,6.100,78.900
3,3.000,4.000,1102.00,1123,1102,21,21,19,2,0,0,0,0,7.900,143.200
4,4.000,5.000,873.00,897,873,24,24,20,4,0,0,0,0,9.800,212.600
5,5.000,6.000,1011.00,1032,1011,21,21,18,3,0,0,0,0,8.400,166.000
6,6.000,7.000,1287.00,1289,1287,2,2,0,2,0,0,0,0,6.200,84.300
7,7.000,8.000,1330.00,1330,1330,0,0,0,0,0,0,0,0,6.000,79.500
8,8.000,9.000,1351.00,1351,1351,0,0,0,0,0,0,0,0,5.900,76.200
9,9.000,9.500,1310.00,655,655,0,0,0,0,0,0,0,0,5.800,74.800

"""#

    /// `latency.csv`: the percentile spectrum of each transaction type and `total`.
    static let latency = #"""
transaction,percentile,latency_ms,count
transfer,0.00,0.900,1
transfer,10.00,3.100,902
transfer,20.00,4.000,1804
transfer,30.00,4.700,2706
transfer,40.00,5.300,3608
transfer,50.00,6.000,4510
transfer,60.00,6.800,5412
transfer,70.00,8.000,6314
transfer,75.00,8.900,6765
transfer,80.00,10.200,7216
transfer,85.00,12.500,7667
transfer,90.00,16.800,8118
transfer,95.00,31.000,8569
transfer,97.50,52.400,8794
transfer,99.00,81.700,8930
transfer,99.50,118.300,8975
transfer,99.90,232.500,9011
transfer,99.99,410.900,9019
transfer,100.00,502.317,9020
audit_read,0.00,0.432,1
audit_read,10.00,1.488,254
audit_read,20.00,1.920,509
audit_read,30.00,2.256,763
audit_read,40.00,2.544,1018
audit_read,50.00,2.880,1272
audit_read,60.00,3.264,1526
audit_read,70.00,3.840,1781
audit_read,75.00,4.272,1908
audit_read,80.00,4.896,2035
audit_read,85.00,6.000,2162
audit_read,90.00,8.064,2290
audit_read,95.00,14.880,2417
audit_read,97.50,25.152,2480
audit_read,99.00,39.216,2519
audit_read,99.50,56.784,2531
audit_read,99.90,111.600,2541
audit_read,99.99,197.232,2544
audit_read,100.00,260.402,2544
total,0.00,0.837,1
total,10.00,2.883,1156
total,20.00,3.720,2313
total,30.00,4.371,3469
total,40.00,4.929,4626
total,50.00,5.580,5782
total,60.00,6.324,6938
total,70.00,7.440,8095
total,75.00,8.277,8673
total,80.00,9.486,9251
total,85.00,11.625,9829
total,90.00,15.624,10408
total,95.00,28.830,10986
total,97.50,48.732,11275
total,99.00,75.981,11448
total,99.50,110.019,11506
total,99.90,216.225,11552
total,99.99,382.137,11563
total,100.00,502.317,11564

"""#

    /// `errors.csv`: a multi-line DETAIL and a message with doubled quotes.
    static let errors = #"""
sqlstate,class,count,sample_message,sample_detail
40P01,deadlocks,57,deadlock detected,"Process 48213 waits for ShareLock on transaction 90817; blocked by process 48220.
Process 48220 waits for ShareLock on transaction 90815; blocked by process 48213."
55P03,lock_not_available,12,"could not obtain lock on row in relation ""accounts""",

"""#

    /// `run.json`, as `RunRecord.json()` writes it.
    static let run = #"""
{
  "command_line" : "lockstorm run transfers --variant unordered -c 16 -j 2 -T 10 --seed 42 --dsn 'postgresql://bench:****@db.internal:5432/bench'",
  "clients" : 16,
  "deadlocks" : {
    "agree" : true,
    "client" : 57,
    "server_delta" : 57
  },
  "ended_at" : "2026-11-23T18:45:22.512Z",
  "interval_s" : 1,
  "invariants" : [
    {
      "actual" : "1000000",
      "expected" : "1000000",
      "name" : "total balance is conserved",
      "passed" : true
    },
    {
      "actual" : "0",
      "expected" : "0",
      "name" : "no negative balances",
      "passed" : true
    }
  ],
  "measured_duration_s" : 9.5,
  "parameters" : {
    "accounts" : 1000,
    "amount_max" : 100,
    "skew" : 0.8
  },
  "partial" : false,
  "peak_rss_bytes" : 50593792,
  "requested_duration_s" : 10,
  "schema_version" : 1,
  "seed" : 42,
  "server" : {
    "settings" : {
      "deadlock_timeout" : "100ms",
      "default_transaction_isolation" : "read committed",
      "lock_timeout" : "0",
      "max_connections" : "100"
    },
    "version" : "17.2"
  },
  "started_at" : "2026-11-23T18:45:12.004Z",
  "threads" : 2,
  "tool" : "lockstorm",
  "transactions_per_client" : null,
  "variant" : "unordered",
  "version" : "0.1.0",
  "workload" : {
    "file" : "workloads/transfers.yaml",
    "name" : "transfers",
    "sha256" : "9f2c4e1d7a0b3c5e8f6a1d2b4c7e9f0a3b5d6c8e1f2a4b6c8d0e2f4a6b8c0d2e"
  }
}

"""#

    /// Writes the fixture files into a fresh temporary directory; `nil` leaves a file out.
    static func directory(
        summary: String? = summary, timeseries: String? = timeseries, latency: String? = latency, errors: String? = errors,
        run: String? = run
    ) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lockstorm-report-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let files: [(String, String?)] = [
            ("summary.csv", summary), ("timeseries.csv", timeseries), ("latency.csv", latency), ("errors.csv", errors), ("run.json", run),
        ]
        for (name, text) in files {
            if let text { try Data(text.utf8).write(to: directory.appendingPathComponent(name)) }
        }
        return directory
    }
}
