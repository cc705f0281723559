import Tensors

/// Spectral normalisation (Miyato et al., 2018) as a parametrization of a layer's weight:
/// the layer computes with `weight / σ(weight)`.
///
/// The layer's trainable weight is `weight_orig` in its `state_dict` and the power-iteration
/// vectors are the buffers `weight_u` and `weight_v`, the names PyTorch's
/// `torch.nn.utils.spectral_norm` gives them, so such a checkpoint loads into a PyTorch module
/// wrapped the same way. In training mode each use runs one power iteration first (as PyTorch
/// does), then normalises; in evaluation mode σ comes from the stored vectors.
public final class SpectralNorm: WeightParametrization {
    public let u: Buffer
    public let v: Buffer
    let outputAxis: Int

    /// For a weight of `shape` whose output units run along `outputAxis`, with u and v drawn from
    /// `rng` as PyTorch does.
    public init(weightShape shape: [Int], outputAxis: Int, rng: RandomGenerator) {
        let state = SpectralNormState(weightShape: shape, outputAxis: outputAxis, rng: rng)
        u = Buffer(Tensor(state.u, shape: [state.u.count]))
        v = Buffer(Tensor(state.v, shape: [state.v.count]))
        self.outputAxis = outputAxis
    }

    public var inlineChildren: [(String, Any)] { [("weight_u", u), ("weight_v", v)] }
    public var originalName: String { "weight_orig" }

    public func apply(to weight: Tensor, training: Bool) -> Tensor {
        var state = SpectralNormState(u: u.value.scalars, v: v.value.scalars, outputAxis: outputAxis)
        if training {
            state.iterate(weight)
            u.assign(Tensor(state.u, shape: [state.u.count]))
            v.assign(Tensor(state.v, shape: [state.v.count]))
        }
        return weight.spectrallyNormalized(state).weight
    }

    /// Runs `count` power iterations on `weight` without normalising (to converge u and v, as
    /// PyTorch's tests do before comparing).
    public func iterate(_ weight: Tensor, count: Int) {
        var state = SpectralNormState(u: u.value.scalars, v: v.value.scalars, outputAxis: outputAxis)
        for _ in 0..<count { state.iterate(weight) }
        u.assign(Tensor(state.u, shape: [state.u.count]))
        v.assign(Tensor(state.v, shape: [state.v.count]))
    }
}

extension WeightedLayer {
    /// Spectral normalisation of this layer's weight, with u and v drawn from `rng` as PyTorch does.
    public func enableSpectralNorm(rng: RandomGenerator) {
        parametrize(SpectralNorm(weightShape: weight.shape, outputAxis: outputAxis, rng: rng))
    }

    /// The spectral norm applied to this layer's weight, if any.
    public var spectralNorm: SpectralNorm? { weightParametrization as? SpectralNorm }
}

extension Module {
    /// Turns spectral normalisation on for every convolution, transposed convolution, dense layer
    /// and embedding inside this module (PyTorch: `spectral_norm` applied to each).
    public func enableSpectralNorm(rng: RandomGenerator) {
        for (_, m) in namedModules() { (m as? any WeightedLayer)?.enableSpectralNorm(rng: rng) }
    }

    /// Whether any layer inside is spectrally normalised.
    public var hasSpectralNorm: Bool {
        namedModules().contains { ($0.module as? any WeightedLayer)?.spectralNorm != nil }
    }
}
