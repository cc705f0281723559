// The two ops of class-conditional GANs: batch normalization whose scale and shift are chosen by
// the class (the generator's conditioning), and the projection of a class embedding onto features
// (the discriminator's, Miyato & Koyama 2018). Classes come as a [N, K] matrix of class weights:
// one-hot rows for hard labels (`oneHot`), any mixture for an interpolation between classes. Both
// ops are compositions of differentiable ops (matmul, broadcasting arithmetic, batch norm), so
// their gradients follow from those; OpGradientTests checks them against finite differences.

extension Tensor {
    /// One-hot rows [N, `classes`] for class indices (each in 0..<classes).
    public static func oneHot(_ labels: [Int32], classes: Int) -> Tensor {
        precondition(classes > 0, "oneHot: the class count must be positive, got \(classes)")
        var values = [Float](repeating: 0, count: labels.count * classes)
        for (i, label) in labels.enumerated() {
            precondition(label >= 0 && Int(label) < classes, "oneHot: label \(label) at \(i) is outside 0..<\(classes)")
            values[i * classes + Int(label)] = 1
        }
        return Tensor(values, shape: [labels.count, classes])
    }

    /// The per-sample rows `classes · table` ([N, K]·[K, C] → [N, C]).
    static func classRows(_ classes: Tensor, _ table: Tensor, like x: Tensor, _ op: String) -> Tensor {
        checkShapes(classes.rank == 2 && table.rank == 2 && classes.shape[0] == x.shape[0] && classes.shape[1] == table.shape[0]
                    && x.rank >= 2 && table.shape[1] == x.shape[1], op, x.shape, classes.shape, table.shape,
                    note: "expected x [N, C, …], classes [N, K] and per-class tables [K, C]")
        return classes.matmul(table)
    }

    /// `y[n, c, …] = x[n, c, …]·scale[n, c] + shift[n, c]` for `x` [N, C, …] and `scale`, `shift`
    /// [N, C]: an affine map per sample and channel, in one pass (and one for its gradients).
    public static func channelAffine(_ x: Tensor, scale: Tensor, shift: Tensor) -> Tensor {
        let y = backend.channelAffine(x.storage, scale: scale.storage, shift: shift.storage)
        return record("channelAffine", y, inputs: [x, scale, shift]) { [xs = x.storage, ss = scale.storage] g, needs in
            if creatingGraph {
                let (x, scale) = (input(0, xs), input(1, ss))
                let (n, c) = (x.shape[0], x.shape[1]), perChannel = [n, c] + [Int](repeating: 1, count: x.rank - 2)
                return [needs[0] ? g * scale.reshaped(perChannel) : nil,
                        needs[1] ? (g * x).sum(to: perChannel).reshaped([n, c]) : nil,
                        needs[2] ? g.sum(to: perChannel).reshaped([n, c]) : nil]
            }
            let (dx, ds, dh) = Tensor.backend.channelAffineBackward(g.storage, x: xs, scale: ss)
            return [needs[0] ? Tensor(storage: dx) : nil, needs[1] ? Tensor(storage: ds) : nil, needs[2] ? Tensor(storage: dh) : nil]
        }
    }

    /// Class-conditional batch normalization in training mode (de Vries et al. 2017; BigGAN's
    /// generator): `y = γ_c · (x − μ_B) / √(σ²_B + ε) + β_c`, where the batch statistics are shared
    /// and `γ_c = classes · scale`, `β_c = classes · shift` are the rows of the sample's class.
    /// - Parameters: `x` [N, C] or [N, C, H, W]; `classes` [N, K]; `scale`, `shift` [K, C].
    /// - Returns: the output and the batch's per-channel mean and biased variance.
    public static func conditionalBatchNorm(_ x: Tensor, classes: Tensor, scale: Tensor, shift: Tensor, epsilon: Float)
        -> (y: Tensor, mean: Tensor, variance: Tensor) {
        let gamma = classRows(classes, scale, like: x, "conditionalBatchNorm"), beta = classRows(classes, shift, like: x, "conditionalBatchNorm")
        let channels = x.shape[1]
        let (normalized, mean, variance) = batchNorm(x, scale: .ones([channels]), shift: .zeros([channels]), epsilon: epsilon)
        return (channelAffine(normalized, scale: gamma, shift: beta), mean, variance)
    }

    /// Class-conditional batch normalization in evaluation mode, with given statistics.
    public static func conditionalBatchNorm(_ x: Tensor, classes: Tensor, scale: Tensor, shift: Tensor,
                                            mean: Tensor, variance: Tensor, epsilon: Float) -> Tensor {
        let gamma = classRows(classes, scale, like: x, "conditionalBatchNorm"), beta = classRows(classes, shift, like: x, "conditionalBatchNorm")
        let channels = x.shape[1]
        let normalized = batchNorm(x, scale: .ones([channels]), shift: .zeros([channels]), mean: mean, variance: variance,
                                   epsilon: epsilon)
        return channelAffine(normalized, scale: gamma, shift: beta)
    }

    /// The projection term of a projection discriminator: `⟨embedding_c, φ(x)⟩` per sample, [N, 1],
    /// for features `φ(x)` [N, F], classes [N, K] and the class embedding [K, F].
    public static func projection(_ features: Tensor, classes: Tensor, embedding: Tensor) -> Tensor {
        let rows = classRows(classes, embedding, like: features, "projection")
        return (features * rows).sum(to: [features.shape[0], 1])
    }
}
