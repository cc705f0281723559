// Every process a test starts goes through `TestProcess`, which bounds it: a process that outlives
// its time is killed and fails the test with its command line and the end of its output, so a hang
// on another machine names itself instead of stalling the suite. `ProcessHygieneTests` fails when a
// test file starts a process any other way.
import Foundation
import Testing

public struct CommandResult {
    public var status: Int32; public var stdout: String; public var stderr: String
    public init(status: Int32, stdout: String, stderr: String) { self.status = status; self.stdout = stdout; self.stderr = stderr }
}

/// A process started by a test, its output going to files (no pipe can fill up and stall it).
public final class TestProcess {
    public let process = Process()
    public let commandLine: String
    let outPath: String, errPath: String

    /// Starts `executable` with `args`, with `environment` added to this process's (and test
    /// caches in the test run's scratch space). `mergeOutput` sends standard error to standard output.
    public init(_ executable: String, _ args: [String], environment: [String: String] = [:], mergeOutput: Bool = false) throws {
        commandLine = ([executable] + args).map { $0.contains(" ") ? "'\($0)'" : $0 }.joined(separator: " ")
        let logs = scratch("process-\(UUID().uuidString.prefix(8))")
        (outPath, errPath) = (logs + "/out", logs + "/err")
        FileManager.default.createFile(atPath: outPath, contents: nil)
        FileManager.default.createFile(atPath: errPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = args
        process.environment = ProcessInfo.processInfo.environment.merging(["XDG_CACHE_HOME": scratchCache]) { $1 }.merging(environment) { $1 }
        process.standardOutput = FileHandle(forWritingAtPath: outPath)
        process.standardError = mergeOutput ? process.standardOutput : FileHandle(forWritingAtPath: errPath)
        try process.run()
    }

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }
    public var stdout: String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }
    public var stderr: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }

    /// Waits until `condition` holds or the process ends, at most `seconds`; whether it holds.
    @discardableResult
    public func wait(upTo seconds: Double, until condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition() && process.isRunning && Date() < deadline { usleep(5_000) }
        return condition()
    }

    /// Waits for the process to end, at most `seconds`. One still running then is killed (with its
    /// children) and recorded as a failure naming its command line, with the end of its output.
    @discardableResult
    public func finish(within seconds: Double, sourceLocation: SourceLocation = #_sourceLocation) -> CommandResult {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            killTree(SIGKILL)
            process.waitUntilExit()
            let tail = (stdout + stderr).suffix(2_000)
            Issue.record("did not finish within \(Int(seconds)) s, killed: \(commandLine)\n--- its last output ---\n\(tail)",
                         sourceLocation: sourceLocation)
        }
        process.waitUntilExit()
        return CommandResult(status: process.terminationStatus, stdout: stdout, stderr: stderr)
    }

    /// Sends `signal` to the process and every process it started (found through /proc).
    public func killTree(_ signal: Int32) {
        for pid in Self.descendants(of: pid) + [pid] { kill(pid, signal) }
    }

    static func descendants(of root: Int32) -> [Int32] {
        var parents: [Int32: [Int32]] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(name), let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 1, let parent = Int32(fields[1]) { parents[parent, default: []].append(pid) }
        }
        var all: [Int32] = [], queue = [root]
        while let next = queue.popLast() {
            for child in parents[next] ?? [] { all.append(child); queue.append(child) }
        }
        return all
    }
}

/// Runs an executable with arguments, bounded by `timeout` seconds, with `environment` added.
public func runProcess(_ executable: String, _ args: [String], timeout: Double = 300, environment: [String: String] = [:],
                       sourceLocation: SourceLocation = #_sourceLocation) throws -> CommandResult {
    try TestProcess(executable, args, environment: environment).finish(within: timeout, sourceLocation: sourceLocation)
}
