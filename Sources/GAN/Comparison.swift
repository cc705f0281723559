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

extension Trainer {
    /// The fixed noise through the sampling generator in evaluation mode: the images and, for a
    /// conditional model, the class of each row (the first 8 latents drawn as every class, so a
    /// column shows one latent as each class).
    public func fixedNoiseImages() -> (images: Tensor, rows: [String]?) {
        let m = config.model
        let sampler = Sampler(generator: samplingGenerator, config: m)
        guard m.isConditional else { return (sampler.generate(fixedNoise), nil) }
        let (latents, classes, _) = Sampler.classRows(fixedNoise, config: m)
        return (sampler.generate(latents, classes: classes), m.classNames)
    }

    /// The comparison figure of the run: its real images beside the fixed noise's images
    /// (`generated`, from `fixedNoiseImages`, or generated now).
    public func comparisonFigure(generated: (images: Tensor, rows: [String]?)? = nil) -> Image {
        let (images, rows) = generated ?? fixedNoiseImages()
        let (real, _) = Comparison.realImages(dataset, model: config.model, count: fixedNoise.shape[0], seed: config.seed)
        return Comparison.figure(real: real, generated: images, rows: rows)
    }
}
