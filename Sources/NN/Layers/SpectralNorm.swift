import Tensors

/// A layer whose weight can be spectrally normalised (Miyato et al., 2018): convolutions,
/// transposed convolutions and dense layers.
///
/// With spectral norm on, the layer's trainable weight is `weight_orig` in its `state_dict` and
/// the power-iteration vectors are the buffers `weight_u` and `weight_v`, the names PyTorch's
/// `torch.nn.utils.spectral_norm` gives them, so such a checkpoint loads into a PyTorch module
/// wrapped the same way. In training mode each forward pass runs one power iteration first (as
/// PyTorch does), then uses `weight_orig / σ`; in evaluation mode σ comes from the stored vectors.
public protocol SpectrallyNormalizable: Module {
    var weight: Parameter { get }
    /// The weight axis that indexes output units (1 for transposed convolutions' [in, out, k, k]).
    var outputAxis: Int { get }
    var spectralNorm: SpectralNormBuffers? { get set }
}

/// `weight_u` and `weight_v` of a spectrally normalised layer, which appear under those names
/// among the layer's own buffers.
public struct SpectralNormBuffers: InlineChildren {
    public let u: Buffer
    public let v: Buffer
    public var inlineChildren: [(String, Any)] { [("weight_u", u), ("weight_v", v)] }
}

extension SpectrallyNormalizable {
    /// Turns spectral normalisation on, with u and v drawn from `rng` as PyTorch does.
    public func enableSpectralNorm(rng: RandomGenerator) {
        let state = SpectralNormState(weightShape: weight.shape, outputAxis: outputAxis, rng: rng)
        spectralNorm = SpectralNormBuffers(u: Buffer(Tensor(state.u, shape: [state.u.count])),
                                           v: Buffer(Tensor(state.v, shape: [state.v.count])))
    }

    /// The weight the layer computes with: `weight`, or `weight / σ` under spectral norm, after a
    /// power iteration when `iterate` is set.
    func effectiveWeight(iterate: Bool) -> Tensor {
        guard let sn = spectralNorm else { return weight.value }
        var state = SpectralNormState(u: sn.u.value.scalars, v: sn.v.value.scalars, outputAxis: outputAxis)
        if iterate {
            state.iterate(weight.value)
            sn.u.assign(Tensor(state.u, shape: [state.u.count]))
            sn.v.assign(Tensor(state.v, shape: [state.v.count]))
        }
        return weight.value.spectrallyNormalized(state).weight
    }

    /// The weight for inference: normalised with the stored vectors, no iteration.
    public var inferenceWeight: Tensor { withoutGrad { effectiveWeight(iterate: false) } }

    /// The weight's state-dict name under spectral norm.
    var spectralNormNames: [String: String] { spectralNorm == nil ? [:] : ["weight": "weight_orig"] }
}

extension Module {
    /// Turns spectral normalisation on for every convolution, transposed convolution and dense
    /// layer inside this module (PyTorch: `spectral_norm` applied to each).
    public func enableSpectralNorm(rng: RandomGenerator) {
        for (_, m) in namedModules() { (m as? any SpectrallyNormalizable)?.enableSpectralNorm(rng: rng) }
    }

    /// Whether any layer inside is spectrally normalised.
    public var hasSpectralNorm: Bool {
        namedModules().contains { ($0.module as? any SpectrallyNormalizable)?.spectralNorm != nil }
    }
}
