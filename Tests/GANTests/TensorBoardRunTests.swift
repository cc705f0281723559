import Foundation
import RunFormat
import Testing
@testable import GANEvaluation
@testable import GANExport
@testable import GANModels
@testable import GANTraining
import Datasets
import Imaging
import Tensors

/// A run's event file, read by TensorBoard's own reader (the `tensorboard` package's
/// EventAccumulator): the scalars with their steps and values, the grids, the configuration, and
/// one value per step after a kill-free interruption and a resume.
@Suite(.serialized) struct TensorBoardRunTests {
    static let reader = """
    import sys, json, io
    import numpy as np
    from PIL import Image
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    ea = EventAccumulator(sys.argv[1], size_guidance={'images': 0, 'scalars': 0, 'tensors': 0})
    ea.Reload()
    out = {'scalars': {t: [[e.step, e.value] for e in ea.Scalars(t)] for t in ea.Tags()['scalars']},
           'images': [[e.step, e.width, e.height, np.asarray(Image.open(io.BytesIO(e.encoded_image_string))).reshape(-1).tolist()]
                      for e in ea.Images('samples')],
           'config': [t.tensor_proto.string_val[0].decode() for t in ea.Tensors('config')]}
    print(json.dumps(out))
    """

    struct Read: Decodable {
        var scalars: [String: [[Double]]]
        var images: [[Value]]
        var config: [String]
        enum Value: Decodable {
            case number(Double), pixels([Int])
            init(from decoder: Decoder) throws {
                let c = try decoder.singleValueContainer()
                if let n = try? c.decode(Double.self) { self = .number(n) } else { self = .pixels(try c.decode([Int].self)) }
            }
        }
    }

    func read(_ run: String) throws -> Read {
        try JSONDecoder().decode(Read.self, from: Data(try python(Self.reader, [run]).utf8))
    }

    func config(_ epochs: Int) -> TrainingConfig {
        var c = tinyConfig(epochs: epochs)
        c.logEvery = 1
        c.sampleEvery = 3
        return c
    }

    @Test func scalarsImagesAndConfigurationReachTensorBoard() throws {
        let dir = scratch("tb-run")
        let trainer = try Trainer(config: config(2), dataset: brightSquares(64), runDirectory: dir)
        _ = try trainer.run()
        let r = try read(dir)
        let metrics = RunDirectory(dir).readHistory(upTo: .max)
        let lossD = try #require(r.scalars["loss/D"])
        #expect(lossD.map { Int($0[0]) } == metrics.map(\.step) && lossD.count == 8)
        for (point, line) in zip(lossD, metrics) { #expect(Float(point[1]) == line.lossD!) }
        for tag in ["loss/G", "discriminator/D(x)", "discriminator/D(G(z))", "speed/images_per_second", "learning_rate/G", "learning_rate/D"] {
            #expect(r.scalars[tag]?.count == 8, "\(tag)")
        }
        #expect(r.scalars["learning_rate/D"].map { Float($0[0][1]) } == 1e-3)  // simple_value is float32
        // Grids at steps 3, 6 and the epoch ends 4 and 8 (the final grid is step 8's), each the PNG written.
        let steps = r.images.compactMap { if case .number(let s) = $0[0] { return Int(s) } else { return nil } }
        #expect(steps == [3, 4, 6, 8])
        if case .pixels(let pixels) = r.images[0][3] {
            #expect(pixels.map(UInt8.init) == (try ImageCodec.read(dir + "/samples/step-00000003.png")).pixels)
        } else { Issue.record("no pixels") }
        #expect(r.config.count == 1 && r.config[0].contains("\"batchSize\" : 16"))

        // The real-versus-generated figures: real training images left, the fixed noise's grid right,
        // same scale, each under its title.
        for name in ["compare-epoch-001.png", "compare-epoch-002.png", "compare-final.png"] {
            #expect(FileManager.default.fileExists(atPath: dir + "/samples/" + name), "\(name)")
        }
        let figure = try ImageCodec.read(dir + "/samples/compare-final.png")
        let grid = try ImageCodec.read(dir + "/samples/final.png")
        #expect(figure.width == 12 + grid.width + 24 + grid.width + 12 && figure.height == 32 + grid.height + 12)
        func dark(_ xs: Range<Int>, _ ys: Range<Int>) -> Int {
            ys.reduce(0) { n, y in n + xs.filter { figure.pixels[(y * figure.width + $0) * figure.channels] < 100 }.count }
        }
        #expect(dark(12..<(12 + grid.width), 0..<32) > 30 && dark((36 + grid.width)..<(36 + 2 * grid.width), 0..<32) > 30)
        // The right grid is the final grid, pixel for pixel.
        let right = (0..<grid.height).flatMap { y in (0..<grid.width).map { x in figure.pixels[((32 + y) * figure.width + 36 + grid.width + x) * figure.channels] } }
        #expect(right == grid.pixels)
    }

    /// Interrupted at step 6 after a checkpoint at step 4, then resumed: TensorBoard sees each
    /// step once, the values of steps 5 and 6 those of the resumed run (bitwise the same here).
    @Test func aResumedRunLogsEachStepOnce() throws {
        let dir = scratch("tb-resume")
        var c = config(2)
        c.checkpointSteps = 4
        c.checkpointEvery = 0
        let first = try Trainer(config: c, dataset: brightSquares(64), runDirectory: dir)
        _ = try first.run(shouldStop: { first.state.step == 6 })
        // A kill after step 6 would leave its lines; the interruption checkpointed at 6, so resume
        // from the step-4 checkpoint by removing the newer one, as if killed before it.
        try FileManager.default.removeItem(atPath: dir + "/checkpoints/step-00000006")
        let second = try Trainer.resume(runDirectory: dir, dataset: brightSquares(64))
        #expect(second.state.step == 4)
        _ = try second.run()
        let r = try read(dir)
        let lossD = try #require(r.scalars["loss/D"])
        #expect(lossD.map { Int($0[0]) } == Array(1...8))
        let metrics = RunDirectory(dir).readHistory(upTo: .max)
        #expect(zip(lossD, metrics).allSatisfy { Float($0[1]) == $1.lossD! })
        #expect(r.config.count == 1)
        let steps = r.images.compactMap { if case .number(let s) = $0[0] { return Int(s) } else { return nil } }
        #expect(steps == [3, 4, 6, 8])
    }
}
