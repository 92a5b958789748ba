import Foundation

/// A small tmpfs mounted for one test, and filled so that only a few pages
/// stay free: a disk that fills up while results are written.
public struct SmallDisk {
    public let path: String

    /// Whether this process may mount a tmpfs (root, or CAP_SYS_ADMIN; CI runs as root).
    public static let mountable: Bool = {
        guard geteuid() == 0, let probe = try? SmallDisk(kilobytes: 64) else { return false }
        probe.unmount()
        return true
    }()

    public init(kilobytes: Int) throws {
        path = "/tmp/lst-disk-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        guard Self.command("/bin/mount", ["-t", "tmpfs", "-o", "size=\(kilobytes)k,mode=0755", "tmpfs", path]) == 0 else {
            try? FileManager.default.removeItem(atPath: path)
            throw CocoaError(.fileWriteNoPermission)
        }
    }

    /// Fills the disk, then frees `pages` pages of 4 KiB (tmpfs counts pages).
    public func fill(leaving pages: Int) throws {
        let filler = path + "/filler"
        let descriptor = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else { throw CocoaError(.fileWriteUnknown) }
        defer { close(descriptor) }
        let chunk = [UInt8](repeating: 0x2E, count: 4_096)
        var size = 0
        while true {
            let count = chunk.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            size += count
        }
        guard ftruncate(descriptor, off_t(max(0, size - pages * 4_096))) == 0 else { throw CocoaError(.fileWriteUnknown) }
    }

    public func unmount() {
        _ = Self.command("/bin/umount", [path])
        try? FileManager.default.removeItem(atPath: path)
    }

    private static func command(_ executable: String, _ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }
}

/// Issue 20: a full disk leaves every result file whole or missing, never a
/// `.NAME.tmp`, marks the directory INCOMPLETE (or removes it when not even
/// the marker fits), and the error names the path.
