// swift-tools-version: 6.2
// 6.2, not 6.0: the engine uses InlineArray (SessionBoard), which needs the
// Swift 6.2 compiler and standard library; this manifest's `.macOS(.v26)`
// needs PackageDescription 6.2 as well.
import PackageDescription

// The targets' dependencies below are the module boundaries that
// docs/architecture.md draws and explains ("Modules"): only PostgresClient
// sees libpq, and LockstormCore does no I/O.
let package = Package(
    name: "lockstorm",
    // Linux is the platform lockstorm is built, tested and benchmarked on
    // (CI: Debian; the engine's event loop uses epoll). macOS is untested:
    // the Darwin branches (a poll fallback) have never been compiled. Should
    // they be, the floor is what the code already uses: InlineArray needs
    // macOS 26, Mutex and Atomic (Synchronization) macOS 15.
    platforms: [.macOS(.v26)],
    products: [
        .executable(name: "lockstorm", targets: ["lockstorm"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        // 0.x: a minor release may break the API (semantic versioning), so only
        // patch releases are taken.
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", .upToNextMinor(from: "0.2.0")),
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
        .testTarget(name: "ReportsTests", dependencies: ["Reports", "LockstormCore", "TestSupport"]),
        .testTarget(name: "LockstormAppTests", dependencies: ["LockstormApp", "Engine", "LockstormCore", "Reports"]),
        // Helpers for tests that need a real server or the built binary.
        .target(name: "TestSupport", dependencies: ["Engine", "PostgresClient"], path: "Tests/TestSupport"),
        .testTarget(name: "PostgresClientTests", dependencies: ["PostgresClient", "TestSupport"]),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "LockstormCore", "PostgresClient", "TestSupport"]),
        // Fixtures/ holds workload files the tests read by path (#filePath), not resources;
        // Yams reads deploy/k8s's manifests (DeployManifestTests).
        .testTarget(name: "lockstormTests", dependencies: ["lockstorm", "Reports", "TestSupport", .product(name: "Yams", package: "Yams")], exclude: ["Fixtures"]),
    ],
    swiftLanguageModes: [.v6]
)
