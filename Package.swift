// swift-tools-version: 6.0
import PackageDescription

// Module boundaries follow DESIGN.md's architecture:
//   CLibPQ -> PostgresClient -> Engine -> lockstorm
//   LockstormCore (pure, no I/O) <- Engine, Reports
let package = Package(
    name: "lockstorm",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "lockstorm", targets: ["lockstorm"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"]), .brew(["libpq"])]
        ),
        .target(
            name: "PostgresClient",
            dependencies: ["CLibPQ"]
        ),
        .target(
            name: "LockstormCore",
            dependencies: [
                .product(name: "Yams", package: "Yams"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),
        // <sys/epoll.h> for the engine's event loop (Swift's Glibc lacks it).
        .target(name: "CEventPoll"),
        .target(
            name: "Engine",
            dependencies: ["PostgresClient", "LockstormCore", "CEventPoll"]
        ),
        .target(
            name: "Reports",
            dependencies: ["LockstormCore"]
        ),
        // What a command does once its arguments are parsed: the session
        // (signals, database, exit status) and the pipelines of each command.
        .target(
            name: "LockstormApp",
            dependencies: ["Engine", "Reports", "LockstormCore", "PostgresClient"]
        ),
        .executableTarget(
            name: "lockstorm",
            dependencies: [
                "LockstormApp",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "LockstormCoreTests", dependencies: ["LockstormCore"]),
        .testTarget(name: "ReportsTests", dependencies: ["Reports", "LockstormCore"]),
        .testTarget(name: "LockstormAppTests", dependencies: ["LockstormApp", "Engine", "LockstormCore"]),
        // Helpers for tests that need a real server or the built binary.
        .target(name: "TestSupport", dependencies: ["Engine", "PostgresClient"], path: "Tests/TestSupport"),
        .testTarget(name: "PostgresClientTests", dependencies: ["PostgresClient", "TestSupport"]),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "LockstormCore", "PostgresClient", "TestSupport"]),
        // Fixtures/ holds workload files the tests read by path (#filePath), not resources.
        .testTarget(name: "lockstormTests", dependencies: ["lockstorm", "TestSupport"], exclude: ["Fixtures"]),
    ],
    swiftLanguageModes: [.v6]
)
