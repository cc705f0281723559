// The built `swiftgan` in a subprocess, as a user meets it.
import Foundation
import Testing

/// The built `swiftgan` executable, beside the test bundle.
public func swiftgan() -> String {
    URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("swiftgan").path
}

/// Runs the CLI with arguments (bounded by `timeout` seconds).
public func runCLI(_ args: [String], timeout: Double = 300, environment: [String: String] = [:],
                   sourceLocation: SourceLocation = #_sourceLocation) throws -> CommandResult {
    try runProcess(swiftgan(), args, timeout: timeout, environment: environment, sourceLocation: sourceLocation)
}

/// `mpiexec -n N swiftgan ARGS` (MPICH's Hydra; `segments` adds further `: -n K swiftgan ARGS`).
public func runMPI(_ n: Int, _ args: [String], segments: [(Int, [String])] = [], timeout: Double = 300,
                   environment: [String: String] = [:], sourceLocation: SourceLocation = #_sourceLocation) throws -> CommandResult {
    var all = ["-n", "\(n)", swiftgan()] + args
    for (k, more) in segments { all += [":", "-n", "\(k)", swiftgan()] + more }
    return try runProcess("/usr/bin/mpiexec", all, timeout: timeout, environment: environment, sourceLocation: sourceLocation)
}

public let scratchCache = scratch("cli-cache")
