import Tensors

/// A function applied to a layer's weight each time the layer computes with it, from outside
/// the layer (PyTorch's `torch.nn.utils.parametrize`): the weight the optimizer updates stays the
/// layer's own, and the layer computes with what the parametrization makes of it. Spectral norm
/// (`SpectralNorm`) is one. Its buffers belong to the layer, named beside the weight
/// (`inlineChildren`).
public protocol WeightParametrization: AnyObject, InlineChildren {
    /// The weight to compute with, from the layer's own; `training`: the layer is in training mode.
    func apply(to weight: Tensor, training: Bool) -> Tensor
    /// The state-dict name of the layer's own weight while the parametrization is applied
    /// (`weight_orig` under spectral norm, as PyTorch names it).
    var originalName: String { get }
}

/// A layer that computes with one weight a parametrization can apply to: convolutions,
/// transposed convolutions, dense layers and embeddings. The layer knows only that slot; what
/// fills it (`parametrize`) is decided outside.
public protocol WeightedLayer: Module {
    var weight: Parameter { get }
    /// The weight axis that indexes output units (1 for transposed convolutions' [in, out, k, k]).
    var outputAxis: Int { get }
    var weightParametrization: (any WeightParametrization)? { get set }
}

extension WeightedLayer {
    /// Applies `parametrization` to this layer's weight from now on (nil: none).
    public func parametrize(_ parametrization: (any WeightParametrization)?) { weightParametrization = parametrization }

    /// The weight the layer computes with: its own, or what the parametrization makes of it.
    func computedWeight(training: Bool) -> Tensor {
        weightParametrization?.apply(to: weight.value, training: training) ?? weight.value
    }

    /// The weight for inference (evaluation mode, no gradient).
    public var inferenceWeight: Tensor { withoutGrad { computedWeight(training: false) } }

    /// The weight's state-dict name while a parametrization applies.
    var parametrizedNames: [String: String] { weightParametrization.map { ["weight": $0.originalName] } ?? [:] }
}
