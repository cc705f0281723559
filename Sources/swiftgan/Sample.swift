import ArgumentParser
import Datasets
import Foundation
import GANExport
import GANModels
import Imaging
import Tensors

struct Sample: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate images from a trained generator, without training.",
        discussion: """
        OUT ending in .png: one grid; .npy: a float32 array N×H×W×C in [-1, 1]; a directory (an existing one, or a
        new one written with a trailing /): one PNG per image. Images are generated and written in batches, so any
        --count fits in memory; a count the disk cannot hold is refused before anything is written. The same --seed
        gives the same images on every run.

        A class-conditional generator draws the classes of --class (names or indices; several take turns, image i
        being of the (i mod k)-th), or without it classes drawn uniformly (not as the training set's frequencies).
        Its .npy output has the labels beside it (X.labels.npy: int64 class indices), its directory output one
        sub-folder per class.
        """)

    @Argument(help: "A run directory (its latest checkpoint) or a checkpoint directory.") var checkpoint: String
    @Option(help: "Number of images (default: 64, or the rows of --noise).") var count: Int?
    @Option(help: "Seed of the latent vectors.") var seed: UInt64 = 0
    @Option(help: "Output: grid .png, .npy array, or a directory (DIR/).") var out: String
    @Option(help: "Images per grid row (grids only).") var columns: Int?
    @Option(name: .customLong("class"), help: "Conditional generators: only these classes, by name or index (comma-separated).")
    var classes: String?
    @Option(help: "Latent vectors to use instead of drawing them: a .npy array [N, latent], float32 or float64 (N images; not with --count).")
    var noise: String?
    @Option(help: "Also write the latent vectors used, as a float32 .npy array [N, latent].") var saveNoise: String?
    @Option(help: "Arithmetic of the generator's convolutions: fp32 or bf16 (AVX512-BF16 or AMX-BF16; images within ~1% of fp32's).")
    var precision: Precision = .fp32
    @Option(help: "Write a figure of real images from this dataset beside generated ones (--out a .png; a conditional generator: a row per class).")
    var compare: String?
    @Option(help: "Truncation ψ: pull the latents towards the mean latent (1: none, 0.7: typical images, 0: the mean image; \(truncationRangeText)).")
    var truncation: Float = 1

    func validate() throws {
        try positive(count, "--count")
        try positive(columns, "--columns")
        if noise != nil && count != nil { throw ValidationError("--count comes from --noise (one image per row); give one or the other") }
        if let saveNoise, !saveNoise.lowercased().hasSuffix(".npy") { throw ValidationError("--save-noise: expected a .npy path, got \(saveNoise)") }
        try available(precision)
        try validTruncation(truncation)
    }

    func run() throws {
        try reportingErrors {
            let output = try SampleOutput(path: out)
            if columns != nil, case .grid = output {} else if columns != nil {
                throw ValidationError("--columns applies only to a grid (--out ending in .png)")
            }
            let sampler = try Sampler(checkpoint: checkpoint, precision: precision)
            let c = sampler.config
            if let compare {
                guard case .grid(let path) = output else { throw ValidationError("--compare writes a figure: --out must end in .png") }
                for (flag, given) in [("--class", classes != nil), ("--noise", noise != nil), ("--save-noise", saveNoise != nil), ("--columns", columns != nil),
                                      ("--truncation", truncation != 1)] where given {
                    throw ValidationError("\(flag) does not apply to --compare")
                }
                let dataset = try DatasetLoader.load(compare, imageSize: c.imageSize, channels: c.channels)
                let figure = try sampler.comparisonFigure(with: dataset, count: count ?? 64, seed: seed)
                try ImageCodec.writePNG(figure, to: path)
                say("wrote real images from \(compare) beside generated ones to \(path)")
                return
            }
            let choice = try classChoice(classes, for: c, flag: "--class")
            var latents = try noise.map { try sampler.latents(fromFile: $0) }
            let count = latents?.shape[0] ?? self.count ?? 64
            if truncation != 1 { latents = c.truncation(psi: truncation).apply(latents ?? sampler.noise(count: count, seed: seed)) }
            let range = try sampler.write(count: count, seed: seed, to: output, columns: columns ?? 8, classes: choice, latents: latents)
            if let saveNoise {
                // The latents the images came from: truncated ones when --truncation is given.
                try sampler.saveLatents(latents ?? sampler.noise(count: count, seed: seed), to: saveNoise)
                say("wrote the \(count) latent vectors to \(saveNoise)")
            }
            let drawn = c.isConditional ? " of " + describe(choice, c) : ""
            switch output {
            case .grid(let path): say("wrote a grid of \(count) images\(drawn) to \(path)")
            case .array(let path):
                say("wrote \(count)×\(c.imageSize)×\(c.imageSize)×\(c.channels) float32 values in \(range)\(drawn) to \(path)"
                    + (c.isConditional ? ", their class indices to \(SampleOutput.labelsPath(ofArray: path))" : ""))
            case .directory(let path): say("wrote \(count) PNG files\(drawn) to \(path)" + (c.isConditional ? " (a sub-folder per class)" : ""))
            }
        }
    }
}

let truncationRangeText = "from \(Truncation.psiRange.lowerBound) to \(Truncation.psiRange.upperBound)"

func validTruncation(_ psi: Float) throws {
    guard psi.isFinite, Truncation.psiRange.contains(psi) else { throw ValidationError("--truncation must be a number \(truncationRangeText), got \(psi)") }
}

/// The classes `--class` names ("sneaker,bag" or "7,8"), or uniform draws when it is absent.
/// An unknown class is an error listing the valid ones; `--class` for an unconditional generator
/// is refused.
func classChoice(_ text: String?, for c: ModelConfig, flag: String) throws -> ClassChoice {
    guard let text else { return .uniform }
    guard c.isConditional else {
        throw ValidationError("\(flag) applies only to class-conditional generators (trained with --conditional); this one has no classes")
    }
    let names = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    guard !names.isEmpty, !names.contains(where: \.isEmpty) else { throw ValidationError("\(flag): expected class names or indices, got '\(text)'") }
    do { return .cycle(try names.map { try c.classIndex($0) }) } catch let error as SamplingError {
        throw ValidationError("\(flag): \(error)")
    }
}

func describe(_ choice: ClassChoice, _ c: ModelConfig) -> String {
    switch choice {
    case .uniform: return "classes drawn uniformly"
    case .cycle(let list): return (list.count == 1 ? "class " : "classes ") + list.map { "\($0) (\(c.classNames[$0]))" }.joined(separator: ", ")
    }
}

struct Interpolate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Walk the latent space between two seeds and write the frames as an animated GIF.",
        discussion: """
        A class-conditional generator needs the class: --class A walks between the two seeds as class A;
        --from-class A --to-class B walks from class A to class B at the fixed noise of --from (the class
        embeddings are mixed; give --to too to move both).
        """)

    @Argument(help: "A run directory or a checkpoint directory.") var checkpoint: String
    @Option(help: "Seed of the first latent vector.") var from: UInt64 = 0
    @Option(help: "Seed of the last latent vector (default: 1; with --from-class, the --from seed).") var to: UInt64?
    @Option(name: .customLong("class"), help: "Conditional generators: the class of every frame (name or index).") var classAll: String?
    @Option(help: "Conditional generators: the class of the first frame.") var fromClass: String?
    @Option(help: "Conditional generators: the class of the last frame.") var toClass: String?
    @Option(help: "Frames, both ends included.") var steps: Int = 16
    @Option(help: "Frame delay in hundredths of a second.") var delay: Int = 10
    @Option(help: "Output .gif file.") var out: String
    @Option(help: "Arithmetic of the generator's convolutions: fp32 or bf16 (AVX512-BF16 or AMX-BF16; images within ~1% of fp32's).")
    var precision: Precision = .fp32
    @Option(help: "Truncation ψ of both ends: pull them towards the mean latent (1: none; \(truncationRangeText)).")
    var truncation: Float = 1

    func validate() throws {
        guard steps >= 2 else { throw ValidationError("--steps must be at least 2, got \(steps)") }
        try available(precision)
        try positive(delay, "--delay")
        if classAll != nil && (fromClass != nil || toClass != nil) {
            throw ValidationError("--class gives every frame one class; --from-class and --to-class walk between two: give one or the other")
        }
        if (fromClass == nil) != (toClass == nil) { throw ValidationError("--from-class and --to-class go together") }
        try validTruncation(truncation)
    }

    func run() throws {
        try reportingErrors {
            let sampler = try Sampler(checkpoint: checkpoint, precision: precision)
            let c = sampler.config
            func index(_ name: String?, _ flag: String) throws -> Int? {
                guard let name else { return nil }
                guard case .cycle(let list) = try classChoice(name, for: c, flag: flag), list.count == 1 else {
                    throw ValidationError("\(flag) takes one class, got '\(name)'")
                }
                return list[0]
            }
            let all = try index(classAll, "--class")
            let (a, b) = (try index(fromClass, "--from-class") ?? all, try index(toClass, "--to-class") ?? all)
            if c.isConditional && a == nil {
                throw ValidationError("the generator is class-conditional: give --class NAME, or --from-class A --to-class B; its classes are "
                                      + c.classNames.enumerated().map { "\($0.offset) \($0.element)" }.joined(separator: ", "))
            }
            let to = self.to ?? (fromClass != nil ? from : 1)
            let scale = max(1, 128 / c.imageSize)
            let frames = sampler.interpolate(from: from, to: to, steps: steps, fromClass: a, toClass: b,
                                             truncation: truncation == 1 ? nil : c.truncation(psi: truncation)).map { $0.upscaled(by: scale) }
            try GIF.write(frames, delayCentiseconds: delay, to: out)
            var what = "from seed \(from) to seed \(to)"
            if let a, let b { what += a == b ? " as \(c.classNames[a])" : ", class \(c.classNames[a]) to \(c.classNames[b])" }
            say("wrote \(steps) frames \(what) to \(out)")
        }
    }
}

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export a generator as an ONNX model.",
        discussion: """
        The model takes z [N, latent] (float32; and class [N], int64 class indices, for a conditional generator) and
        gives images [N, C, H, W] in [-1, 1], or with --uint8 bytes 0–255 (torchvision's mapping). A run that keeps a
        moving average exports the average. Batch norms are folded into the layers before them.
        """)

    @Argument(help: "A run directory (its latest checkpoint) or a checkpoint directory.") var checkpoint: String
    @Option(help: "Output .onnx file.") var out: String
    @Option(help: "ONNX opset (\(ONNXExport.opsets.lowerBound)–\(ONNXExport.opsets.upperBound)).") var opset: Int = 17
    @Option(help: "Batch size: a number, or dynamic.") var batch: String = "dynamic"
    @Flag(help: "Output bytes 0–255 instead of floats in [-1, 1].") var uint8 = false

    func validate() throws {
        guard ONNXExport.opsets.contains(opset) else {
            throw ValidationError("--opset must be from \(ONNXExport.opsets.lowerBound) to \(ONNXExport.opsets.upperBound), got \(opset)")
        }
        if batch != "dynamic" { guard let n = Int(batch), n > 0 else { throw ValidationError("--batch must be a positive number or dynamic, got \(batch)") } }
        guard out.lowercased().hasSuffix(".onnx") else { throw ValidationError("--out: expected a .onnx path, got \(out)") }
    }

    func run() throws {
        try reportingErrors {
            let sampler = try Sampler(checkpoint: checkpoint)
            let options = ONNXExport.Options(opset: opset, batch: Int(batch).map { .fixed($0) } ?? .dynamic, uint8: uint8)
            try ONNXExport.write(sampler.generator, to: out, options: options)
            let c = sampler.config
            say("wrote \(out): z [\(batch == "dynamic" ? "N" : batch), \(c.latent)]" + (c.isConditional ? " and class [N] (0–\(c.classes - 1))" : "")
                + " → images [N, \(c.channels), \(c.imageSize), \(c.imageSize)]" + (uint8 ? " uint8" : " in [-1, 1]") + ", opset \(opset)")
        }
    }
}
