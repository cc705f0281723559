import Foundation
import Testing

/// A fresh temporary folder for one test.
func scratch(_ name: String) -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("swiftgan-data-\(getpid())-\(name)")
    try? FileManager.default.removeItem(at: dir)
    try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.path
}

/// The test interpreter (Pillow, SciPy, numpy), set up by `make test`.
func pythonPath() -> String {
    if let p = ProcessInfo.processInfo.environment["SWIFTGAN_PYTHON"] { return p }
    let venv = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../.venv/bin/python").standardized.path
    return FileManager.default.isExecutableFile(atPath: venv) ? venv : "/usr/bin/python3"
}

/// Runs a Python script with arguments; returns its standard output, failing the test on error.
@discardableResult
func python(_ script: String, _ args: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: pythonPath())
    process.arguments = ["-c", script] + args
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    let errors = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    #expect(process.terminationStatus == 0, "python failed: \(String(decoding: errors, as: UTF8.self))", sourceLocation: sourceLocation)
    return String(decoding: data, as: UTF8.self)
}

/// Parses Python's JSON output.
func json(_ text: String) throws -> Any { try JSONSerialization.jsonObject(with: Data(text.utf8)) }

func write(_ bytes: [UInt8], _ path: String) { try! Data(bytes).write(to: URL(fileURLWithPath: path)) }

func bigEndian32(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 255), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)] }
