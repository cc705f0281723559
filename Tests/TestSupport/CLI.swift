// The built `swiftgan` in a subprocess, as a user meets it.
import Foundation

/// The built `swiftgan` executable, beside the test bundle.
public func swiftgan() -> String {
    URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("swiftgan").path
}

public struct CommandResult {
    public var status: Int32; public var stdout: String; public var stderr: String
    public init(status: Int32, stdout: String, stderr: String) { self.status = status; self.stdout = stdout; self.stderr = stderr }
}

/// Runs the CLI with arguments (bounded by `timeout` seconds).
public func runCLI(_ args: [String], timeout: Double = 300, environment: [String: String] = [:]) throws -> CommandResult {
    try runProcess(swiftgan(), args, timeout: timeout, environment: environment)
}

/// `mpiexec -n N swiftgan ARGS` (MPICH's Hydra; `segments` adds further `: -n K swiftgan ARGS`).
public func runMPI(_ n: Int, _ args: [String], segments: [(Int, [String])] = [], timeout: Double = 300,
                   environment: [String: String] = [:]) throws -> CommandResult {
    var all = ["-n", "\(n)", swiftgan()] + args
    for (k, more) in segments { all += [":", "-n", "\(k)", swiftgan()] + more }
    return try runProcess("/usr/bin/mpiexec", all, timeout: timeout, environment: environment)
}

/// Runs an executable with arguments (bounded by `timeout` seconds), with `environment` added to
/// this process's.
public func runProcess(_ executable: String, _ args: [String], timeout: Double = 300,
                       environment: [String: String] = [:]) throws -> CommandResult {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = args
    // Caches (image folders, evaluation classifiers) go to this test run's scratch space.
    p.environment = ProcessInfo.processInfo.environment.merging(["XDG_CACHE_HOME": scratchCache]) { $1 }.merging(environment) { $1 }
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let deadline = Date().addingTimeInterval(timeout)
    // Drain both pipes on other threads so a chatty child never blocks on a full pipe.
    nonisolated(unsafe) var o = Data(), e = Data()
    let group = DispatchGroup()
    DispatchQueue.global().async(group: group) { o = out.fileHandleForReading.readDataToEndOfFile() }
    DispatchQueue.global().async(group: group) { e = err.fileHandleForReading.readDataToEndOfFile() }
    while p.isRunning && Date() < deadline { usleep(20_000) }
    if p.isRunning { p.terminate() }
    p.waitUntilExit()
    group.wait()
    return CommandResult(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
}

public let scratchCache = scratch("cli-cache")
