import Foundation
import Testing
import FuzzTargets
import Datasets
@testable import GANEvaluation
@testable import GANExport
@testable import GANModels
@testable import GANTraining
import Imaging
import NN
import Tensors
import TestSupport

/// The fuzzing targets' seed corpus, and the inputs fuzzing found, kept as regressions.
@Suite(.serialized) struct FuzzTests {
    /// Where `make fuzz` finds the seeds: `$SWIFTGAN_FUZZ_CORPUS`, else `.build/fuzz/corpus`.
    static let corpus: String = ProcessInfo.processInfo.environment["SWIFTGAN_FUZZ_CORPUS"]
        ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../.build/fuzz/corpus").standardized.path

    static let regressions = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Regressions").path

    /// Valid small files of every format, each made by the project's own writers (SVHN's by SciPy):
    /// written to the corpus, and each accepted by its reader.
    @Test func seedCorpusOfValidFilesIsAccepted() throws {
        let work = scratch("fuzz-seeds")
        var seeds: [FuzzTarget: [(String, Data)]] = [:]
        let squares = brightSquares(3, size: 8)
        try writeIDX(squares, to: work)
        seeds[.idx] = [("squares", try Data(contentsOf: URL(fileURLWithPath: work + "/train-images-idx3-ubyte")))]
        var cifar: [UInt8] = []
        for r in 0..<2 { cifar.append(UInt8(r)); cifar += (0..<3072).map { UInt8(($0 * 7 + r) % 256) } }
        seeds[.cifar] = [("two-records", Data(cifar))]
        seeds[.idxLabels] = [("three-labels", Data([0, 0, 8, 1, 0, 0, 0, 3, 7, 0, 9]))]
        seeds[.npy] = [("latents", NPY.encode([1, -2, 3.5, 0], shape: [2, 2])),
                       ("non-finite-latents", NPY.encode([1, .nan, .infinity, -.infinity], shape: [2, 2]))]
        seeds[.classNames] = [("cifar-10", Data((CIFAR.classes.joined(separator: "\n") + "\n").utf8))]
        for compressed in [false, true] {
            let path = work + "/svhn-\(compressed).mat"
            try python("import sys, numpy as np, scipy.io\nX = np.arange(32*32*3*2, dtype=np.uint32).reshape(32, 32, 3, 2).astype(np.uint8)\n"
                       + "scipy.io.savemat(sys.argv[1], {'X': X, 'y': np.array([[1], [10]], dtype=np.float64)}, do_compression=sys.argv[2] == '1')",
                       [path, compressed ? "1" : "0"])
            seeds[.svhn, default: []].append(("svhn-\(compressed ? "compressed" : "plain")", try Data(contentsOf: URL(fileURLWithPath: path))))
        }
        let weights = work + "/w.safetensors"
        try SafeTensors.write([("a.weight", Tensor([Float](arrayLiteral: 1, 2, 3, 4, 5, 6), shape: [2, 3]), .f32), ("b.count", Tensor([Float(7)], shape: [1]), .i64)],
                              metadata: ["format": "pt"], to: weights)
        seeds[.safetensors] = [("two-tensors", try Data(contentsOf: URL(fileURLWithPath: weights)))]
        var config = TrainingConfig(model: ModelConfig(preset: .dcgan, imageSize: 28, channels: 1), dataPath: "/data")
        config.maxSteps = 10
        var state = TrainingState(config: config)
        state.step = 5
        state.frechetHistory = [12.5, 11]
        var conditional = state
        conditional.config.model.classNames = ["left", "right"]
        seeds[.state] = [("state", try JSONEncoder.readable.encode(state)), ("conditional-state", try JSONEncoder.readable.encode(conditional))]
        seeds[.config] = [("config", try JSONEncoder.readable.encode(config))]
        let gray = Image(width: 5, height: 4, channels: 1, pixels: (0..<20).map { UInt8($0 * 12) })
        let rgb = Image(width: 4, height: 3, channels: 3, pixels: (0..<36).map { UInt8($0 * 7) })
        let rgba = Image(width: 3, height: 2, channels: 4, pixels: (0..<24).map { UInt8($0 * 10) })
        seeds[.emojiList] = [("emoji-test", Data("""
        # group: Smileys & Emotion
        1F600 ; fully-qualified # 😀 E1.0 grinning face
        # group: Component
        1F3FB ; component # 🏻 E1.0 light skin tone
        # group: Flags
        1F1FA 1F1F3 ; fully-qualified # 🇺🇳 E4.0 flag: United Nations

        """.utf8))]
        seeds[.image] = [("gray.png", try ImageCodec.encodePNG(gray)), ("rgb.png", try ImageCodec.encodePNG(rgb)), ("rgba.png", try ImageCodec.encodePNG(rgba)),
                         ("rgb.jpg", try ImageCodec.encodeJPEG(rgb)), ("gray.jpg", try ImageCodec.encodeJPEG(gray))]
        seeds[.upload] = [("rgb.png", try ImageCodec.encodePNG(rgb)), ("rgba.png", try ImageCodec.encodePNG(rgba)), ("gray.jpg", try ImageCodec.encodeJPEG(gray))]
        #expect(Set(seeds.keys) == Set(FuzzTarget.allCases), "every target has seeds")
        let directory = scratch("fuzz-run")
        for (target, files) in seeds {
            let folder = Self.corpus + "/" + target.rawValue
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            for (name, data) in files {
                #expect(target.run(data, in: directory), "\(target.rawValue) refuses its seed \(name)")
                try data.write(to: URL(fileURLWithPath: folder + "/seed-" + name))
            }
        }
    }

    /// Every input that once crashed a reader (kept under Regressions/TARGET/) is now refused
    /// with an error.
    @Test(arguments: FuzzTarget.allCases)
    func inputsThatOnceCrashedAreRefused(_ target: FuzzTarget) throws {
        let folder = Self.regressions + "/" + target.rawValue
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
        let directory = scratch("fuzz-regress-\(target.rawValue)")
        for file in files {
            let data = try Data(contentsOf: URL(fileURLWithPath: folder + "/" + file))
            #expect(!target.run(data, in: directory), "\(target.rawValue)/\(file) is accepted")
        }
    }
}
