import ArgumentParser
import Foundation
import NN
import Tensors

@main
struct SwiftGAN: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftgan",
        abstract: "Train generative adversarial networks on the CPU, fast.",
        subcommands: [Demo.self, Bench.self],
        defaultSubcommand: Demo.self)
}

/// Writes a line to standard output immediately (progress must show even through a pipe).
func say(_ line: String) {
    print(line)
    fflush(stdout)
}
