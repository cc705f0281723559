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
        let order = Batcher(dataset, batchSize: 1, seed: RandomGenerator.derivedSeed(seed, 0x636d70)).order(epoch: 0)
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

    /// Images [N, C, H, W] in [-1, 1] as a sample grid: `columns` wide, or one row per label of
    /// `rows` (labelled); tiles scaled to about 64 pixels, padding 2 — the run's grids.
    public static func grid(_ t: Tensor, rows: [String]?, columns: Int = 8) -> Image {
        let (n, c, h, w) = (t.shape[0], t.shape[1], t.shape[2], t.shape[3])
        let scale = max(1, 64 / h)
        if let rows { return Grid.labelledRows(t.scalars, labels: rows, columns: n / rows.count, channels: c, height: h, width: w, scale: scale) }
        return Grid.make(t.scalars, count: n, channels: c, height: h, width: w, columns: columns, padding: 2, scale: scale)
    }

    /// The figure for real images [N, C, H, W] and generated ones, laid out `columns` wide (rows
    /// labelled with `rows` when given).
    public static func figure(real: Tensor, generated: Tensor, rows: [String]?, columns: Int = 8) -> Image {
        Figure.sideBySide(grid(real, rows: rows, columns: columns), title: "Real images",
                          grid(generated, rows: rows, columns: columns), title: "Generated images")
    }
}


extension Sampler {
    /// The latents of `latents` as the rows of a figure: for a conditional generator its first 8
    /// drawn as every class (a row per class, a column per latent), else as they are.
    public func rowImages(_ latents: Tensor) -> (images: Tensor, rows: [String]?) {
        guard config.isConditional else { return (generate(latents), nil) }
        let (z, classes, _) = Sampler.classRows(latents, config: config)
        return (generate(z, classes: classes), config.classNames)
    }

    /// Real images of `dataset` beside `count` generated ones from `seed`, at the same scale (a row
    /// per class for a conditional generator). Throws when the data is not the generator's kind of
    /// image, or lacks the labels a conditional generator's rows need.
    public func comparisonFigure(with dataset: ImageDataset, count: Int = 64, seed: UInt64 = 0) throws -> Image {
        let c = config
        guard dataset.height == c.imageSize, dataset.width == c.imageSize, dataset.channels == c.channels else {
            throw SamplingError.dataMismatch(path: dataset.name, detail: "its images are \(dataset.width)×\(dataset.height)×\(dataset.channels); the generator makes \(c.imageSize)×\(c.imageSize)×\(c.channels)")
        }
        if c.isConditional { _ = try dataset.requireLabels() }
        let (real, rows) = Comparison.realImages(dataset, model: c, count: count, seed: seed)
        return Comparison.figure(real: real, generated: rowImages(noise(count: count, seed: seed)).images, rows: rows)
    }
}
