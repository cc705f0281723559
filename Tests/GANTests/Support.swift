import Datasets
import Foundation
import GAN
import Testing
@_exported import TestSupport

/// `n` gray images of `size`×`size`: dark noise with a bright square in the top-left quarter.
func brightSquares(_ n: Int, size: Int = 32, seed: UInt64 = 1) -> ImageDataset {
    var state = seed
    func next() -> UInt64 { state = state &* 6364136223846793005 &+ 1442695040888963407; return state >> 33 }
    var px = [UInt8](repeating: 0, count: n * size * size)
    for i in 0..<n { for y in 0..<size { for x in 0..<size {
        let inSquare = (size / 8..<size * 3 / 8).contains(x) && (size / 8..<size * 3 / 8).contains(y)
        px[(i * size + y) * size + x] = inSquare ? UInt8(220 + next() % 36) : UInt8(next() % 60)
    } } }
    return ImageDataset(name: "bright-squares", count: n, height: size, width: size, channels: 1, pixels: px,
                        labels: (0..<n).map { Int32($0 % 10) })
}

/// Mean of the square region minus the mean elsewhere, over generated images [N, 1, S, S].
func squareContrast(_ values: [Float], count: Int, size: Int) -> Float {
    var inside: Float = 0, outside: Float = 0, ni: Float = 0, no: Float = 0
    for i in 0..<count { for y in 0..<size { for x in 0..<size {
        let v = values[(i * size + y) * size + x]
        if (size / 8..<size * 3 / 8).contains(x) && (size / 8..<size * 3 / 8).contains(y) { inside += v; ni += 1 } else { outside += v; no += 1 }
    } } }
    return inside / ni - outside / no
}

/// A small, fast configuration for tests.
func tinyConfig(_ data: String = "memory", preset: ModelPreset = .dcgan, size: Int = 32, epochs: Int = 1) -> TrainingConfig {
    var c = TrainingConfig(model: ModelConfig(preset: preset, imageSize: size, channels: 1, latent: 16, width: 8), dataPath: data)
    c.epochs = epochs
    c.batchSize = 16
    c.learningRateG = 1e-3
    c.learningRateD = 1e-3
    c.seed = 3
    c.sampleEvery = 0
    c.sampleCount = 16
    c.checkpointEvery = 1
    c.logEvery = 5
    return c
}

/// The built `swiftgan` executable, beside the test bundle.
func swiftgan() -> String {
    URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("swiftgan").path
}

struct CommandResult { var status: Int32; var stdout: String; var stderr: String }

/// Runs the CLI with arguments (bounded by `timeout` seconds).
func runCLI(_ args: [String], timeout: Double = 300) throws -> CommandResult {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: swiftgan())
    p.arguments = args
    // Caches (image folders, evaluation classifiers) go to this test run's scratch space.
    p.environment = ProcessInfo.processInfo.environment.merging(["XDG_CACHE_HOME": scratchCache]) { $1 }
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

/// An IDX pair (images and labels) in `dir`, MNIST-named, from a dataset.
func writeIDX(_ d: ImageDataset, to dir: String, prefix: String = "train") throws {
    func be(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 255), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)] }
    let images: [UInt8] = [0, 0, 8, 3] + be(d.count) + be(d.height) + be(d.width) + d.pixels
    let labels: [UInt8] = [0, 0, 8, 1] + be(d.count) + (d.labels ?? []).map { UInt8($0) }
    try Data(images).write(to: URL(fileURLWithPath: dir + "/\(prefix)-images-idx3-ubyte"))
    try Data(labels).write(to: URL(fileURLWithPath: dir + "/\(prefix)-labels-idx1-ubyte"))
}

let scratchCache = scratch("cli-cache")
