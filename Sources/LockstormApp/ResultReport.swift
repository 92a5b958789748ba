import Foundation
import Reports

/// `lockstorm report`: a result directory's report.html, rebuilt from its CSV
/// and JSON files; for a compare directory (one with comparison.json), from
/// comparison.json and its cells' folders, byte for byte as compare wrote it.
public struct ResultReport {
    public let output: any OutputSink

    public init(output: any OutputSink = StandardOutput()) {
        self.output = output
    }

    /// Re-renders `directory`'s report.html and prints its path.
    public func rerender(directory: String) throws {
        let url = URL(fileURLWithPath: directory, isDirectory: true)
        let written: URL
        if !ComparisonFiles.isComparison(url) && FileManager.default.fileExists(atPath: url.appendingPathComponent("comparison.csv").path) {
            throw Failure(.usage, "lockstorm: \(directory) is a compare directory without \(ComparisonSchema.fileName) (written by an older lockstorm): its report cannot be rendered again; run the comparison again")
        }
        do {
            written = ComparisonFiles.isComparison(url) ? try ComparisonReport.write(directory: url) : try HTMLReport.write(directory: url)
        } catch let error as ResultFilesError {
            throw Failure(.usage, "lockstorm: \(error.description)")
        } catch {
            throw Failure(.runError, "lockstorm: cannot write the report in \(directory): \(error.localizedDescription)")
        }
        output.line(DisplayPath.relative(written.path))
    }
}
