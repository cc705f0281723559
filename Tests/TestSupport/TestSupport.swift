// Helpers shared by the test targets: scratch folders and the Python interpreter that holds the
// independent readers (safetensors, numpy, Pillow, SciPy) set up by `make test`.
import Foundation
import Testing

/// A fresh, empty temporary folder named for one test.
public func scratch(_ name: String) -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("swiftgan-test-\(getpid())-\(name)")
    try? FileManager.default.removeItem(at: dir)
    try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.path
}

/// `$SWIFTGAN_PYTHON` (set by `make test`), else the repository's `.venv`, else the system Python.
public func pythonPath() -> String {
    if let p = ProcessInfo.processInfo.environment["SWIFTGAN_PYTHON"] { return p }
    let venv = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../.venv/bin/python").standardized.path
    return FileManager.default.isExecutableFile(atPath: venv) ? venv : "/usr/bin/python3"
}

/// Runs a Python script with arguments (bounded by `timeout` seconds) and returns its standard
/// output; a non-zero exit is recorded as a test failure with the script's standard error.
@discardableResult
public func python(_ script: String, _ args: [String] = [], timeout: Double = 300,
                   sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
    let r = try runProcess(pythonPath(), ["-c", script] + args, timeout: timeout, sourceLocation: sourceLocation)
    #expect(r.status == 0, "python failed: \(r.stderr)", sourceLocation: sourceLocation)
    return r.stdout
}

/// Parses JSON printed by a script.
public func json(_ text: String) throws -> Any { try JSONSerialization.jsonObject(with: Data(text.utf8)) }

/// Writes `bytes` to `path` (a test's input file).
public func write(_ bytes: [UInt8], _ path: String) { try! Data(bytes).write(to: URL(fileURLWithPath: path)) }

/// The largest element difference between two sets of tensors of the same names (the parameters and
/// buffers of two runs, by name), and where; a tensor missing from `b` counts as infinitely different.
public func largestDifference(_ a: [String: [Float]], _ b: [String: [Float]], excluding: Set<String>) -> (Double, String) {
    var worst = (0.0, "")
    for (name, x) in a where !excluding.contains(name) {
        guard let y = b[name] else { return (.infinity, name + " (missing)") }
        let d = zip(x, y).map { Double(abs($0 - $1)) }.max() ?? 0
        if d > worst.0 { worst = (d, name) }
    }
    return worst
}

/// SplitMix64: a seeded generator for the test's random moments (the same moments on every run).
public struct SplitMix: RandomNumberGenerator {
    public var state: UInt64
    public init(state: UInt64) { self.state = state }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
