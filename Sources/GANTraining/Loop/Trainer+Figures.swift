import GANModels
import Imaging
import Tensors

extension Trainer {
    /// The fixed noise through the sampling generator in evaluation mode: the images and, for a
    /// conditional model, the class of each row (the first 8 latents drawn as every class, so a
    /// column shows one latent as each class).
    public func fixedNoiseImages() -> (images: Tensor, rows: [String]?) {
        Sampler(generator: samplingGenerator, config: config.model).rowImages(fixedNoise)
    }

    /// The comparison figure of the run: its real images beside the fixed noise's images
    /// (`generated`, from `fixedNoiseImages`, or generated now).
    public func comparisonFigure(generated: (images: Tensor, rows: [String]?)? = nil) -> Image {
        let (images, rows) = generated ?? fixedNoiseImages()
        let (real, _) = Comparison.realImages(dataset, model: config.model, count: fixedNoise.shape[0], seed: config.seed)
        return Comparison.figure(real: real, generated: images, rows: rows)
    }
}

extension Trainer {
    /// The fixed noise batch through the generator in evaluation mode, as a grid. A conditional
    /// model's grid has one row per class, labelled with its name.
    public func sampleGrid() -> Image {
        let (images, rows) = fixedNoiseImages()
        return Comparison.grid(images, rows: rows)
    }
}
