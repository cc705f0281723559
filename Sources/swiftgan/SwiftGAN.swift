import ArgumentParser
import Foundation
import GANEvaluation
import GANExport
import GANModels
import GANTraining
import NN
import RunFormat
import Tensors

@main
struct SwiftGAN: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftgan",
        abstract: "Train generative adversarial networks on the CPU, fast.",
        discussion: "Start with `swiftgan train`: it trains a DCGAN on Fashion-MNIST into a new run directory.",
        version: "0.7.0",
        subcommands: [Train.self, Sample.self, Interpolate.self, Project.self, Export.self, Eval.self, Studio.self, Demo.self, Bench.self])

    static func main() {
        StopSignals.install()
        Memory.installHandlers()
        main(nil)
    }
}

/// Writes a line to standard output immediately (progress must show even through a pipe).
func say(_ line: String) {
    guard !quiet else { return }
    print(line)
    fflush(stdout)
}

/// Set on the ranks of a data-parallel job other than 0: they print only errors.
nonisolated(unsafe) var quiet = false
/// "rank R: " on every rank of a data-parallel job, before its errors.
nonisolated(unsafe) var errorPrefix = ""

/// Prints a user-facing error as one line on standard error.
func complain(_ line: String) {
    FileHandle.standardError.write(Data((errorPrefix + "error: " + line + "\n").utf8))
}

/// Runs `body`, turning any error into one line on standard error and exit code 1: user-input
/// errors are typed and describe themselves; nothing prints a stack trace.
func reportingErrors(_ body: () throws -> Void) throws {
    do { try body() } catch let exit as ExitCode {
        throw exit
    } catch {
        complain("\(error)" + (flagHint(for: error).map { " " + $0 } ?? ""))
        throw ExitCode(1)
    }
}

/// What the user can change on the command line about a library error, which itself speaks only
/// of values and paths.
func flagHint(for error: Error) -> String? {
    switch error {
    case TrainingError.nonFinite: return "(--lr-g, --lr-d, --loss)"
    case RunDirectoryError.holdsARun: return "(use --resume to continue it or choose another --out)"
    default: return nil
    }
}

/// Validation helpers: each names the flag and what it accepts (an unset option passes).
func positive(_ value: Int?, _ flag: String) throws {
    if let value, value <= 0 { throw ValidationError("\(flag) must be a positive integer, got \(value)") }
}

/// `--precision` names arithmetic this CPU can do. A well-formed flag this machine cannot honour
/// is one line and exit code 1, like any error of the environment (not a usage error with the
/// command's synopsis).
func available(_ precision: Precision) throws {
    if let reason = precision.unavailableReason {
        complain("--precision \(precision.rawValue) needs a CPU with AVX512-BF16 or AMX-BF16; \(reason). Use --precision fp32.")
        throw ExitCode(1)
    }
}

func positiveFinite(_ value: Float?, _ flag: String) throws {
    if let value, !(value.isFinite && value > 0) { throw ValidationError("\(flag) must be a positive number, got \(value)") }
}

extension Precision: ExpressibleByArgument {}
