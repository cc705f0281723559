import Datasets
import Imaging
import Tensors

/// The figure of the SVHN tutorial: a grid of real training images beside a grid of generated
/// ones, at the same scale, each under its title. For a conditional generator both sides have one
/// labelled row per class (real images of that class; the generated row drawn as it).
public enum Comparison {
    /// The real grid's images: `count` images of `dataset` chosen with `seed` (per class for a
    /// conditional model: `columns` of each class, in class order).
    public static func realImages(_ dataset: ImageDataset, model: ModelConfig, count: Int = 64, columns: Int = 8,
                                  seed: UInt64 = 0) -> (images: Tensor, rows: [String]?) {
        let order = Batcher(dataset, batchSize: 1, seed: Generator.derivedSeed(seed, 0x636d70)).order(epoch: 0)
        guard model.isConditional, let labels = dataset.labels else {
            return (dataset.images(Array(order.prefix(min(count, dataset.count)))), nil)
        }
        var picked: [Int] = []
        for k in 0..<model.classes {
            let ofClass = order.lazy.filter { Int(labels[$0]) == k }.prefix(columns)
            // A class with fewer images repeats them, so every row is full.
            let chosen = Array(ofClass)
            picked += (0..<columns).map { chosen.isEmpty ? order[0] : chosen[$0 % chosen.count] }
        }
        return (dataset.images(picked), model.classNames)
    }

    /// The figure for real images [N, C, H, W] and generated ones, laid out `columns` wide (rows
    /// labelled with `rows` when given).
    public static func figure(real: Tensor, generated: Tensor, rows: [String]?, columns: Int = 8) -> Image {
        func grid(_ t: Tensor) -> Image {
            let (n, c, h, w) = (t.shape[0], t.shape[1], t.shape[2], t.shape[3])
            let scale = max(1, 64 / h)
            if let rows { return Grid.labelledRows(t.scalars, labels: rows, columns: n / rows.count, channels: c, height: h, width: w, scale: scale) }
            return Grid.make(t.scalars, count: n, channels: c, height: h, width: w, columns: columns, padding: 2, scale: scale)
        }
        return Figure.sideBySide(grid(real), title: "Real images", grid(generated), title: "Generated images")
    }
}

extension Trainer {
    /// The comparison figure of the run: its real images beside the fixed noise's grid.
    public func comparisonFigure() -> Image {
        let m = config.model
        let (real, rows) = Comparison.realImages(dataset, model: m, count: fixedNoise.shape[0], seed: config.seed)
        let sampler = Sampler(generator: samplingGenerator, config: m)
        guard m.isConditional else { return Comparison.figure(real: real, generated: sampler.generate(fixedNoise), rows: nil) }
        let (latents, classes, _) = Sampler.classRows(fixedNoise, config: m)
        return Comparison.figure(real: real, generated: sampler.generate(latents, classes: classes), rows: rows)
    }
}
