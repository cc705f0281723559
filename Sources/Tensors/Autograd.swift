/// Reverse-mode automatic differentiation on a tape recorded as operations run.
///
/// Every result of an operation with at least one input that requires gradients carries a
/// `GradNode`: its parents and the rule that maps the result's gradient to theirs. Nodes point only
/// to their parents, so a graph lives exactly as long as the tensors that reach it. `backward()`
/// orders the graph topologically and applies each rule once; leaves (parameters) accumulate their
/// gradient until `zeroGrad()`. Inputs that do not require gradients get none computed: freezing the
/// discriminator's parameters during the generator's update skips its weight gradients entirely.
final class GradNode {
    /// Maps the gradient of the result to the gradients of `parents`; `needs[i]` tells whether
    /// parent i wants one (the rule may return nil where it does not).
    typealias Rule = (_ grad: Tensor, _ needs: [Bool]) -> [Tensor?]

    let parents: [GradNode?]
    let rule: Rule?
    let op: StaticString
    /// The gradient accumulated so far (leaves keep it across backward passes).
    var grad: Tensor?

    /// A leaf: a tensor created by the user that requires gradients.
    init() { parents = []; rule = nil; op = "leaf" }

    init(op: StaticString, parents: [GradNode?], rule: @escaping Rule) {
        self.op = op; self.parents = parents; self.rule = rule
    }

    var isLeaf: Bool { rule == nil }
}

/// Whether operations record themselves for differentiation on this thread.
enum GradMode {
    @TaskLocal static var enabled = true
    /// The node whose rule is running, while a backward pass records its own computation
    /// (`createGraph`): a rule rebuilds its inputs and output from it as tensors on the tape.
    @TaskLocal static var node: GradNode?
}

/// Runs `body` without recording operations: for sampling and evaluation.
public func withoutGrad<R>(_ body: () throws -> R) rethrows -> R {
    try GradMode.$enabled.withValue(false, operation: body)
}

extension Tensor {
    /// Whether gradients flow to this tensor.
    public var requiresGrad: Bool { node != nil }

    /// This tensor as a leaf that requires gradients (a parameter, or an input to differentiate by).
    public func requiringGrad() -> Tensor { Tensor(storage: storage, node: GradNode()) }

    /// The same values with no gradient history.
    public var detached: Tensor { Tensor(storage: storage) }

    /// The gradient accumulated into this leaf by `backward()`, or nil.
    public var grad: Tensor? { node?.grad }

    /// Clears this leaf's accumulated gradient.
    public func zeroGrad() { node?.grad = nil }

    /// Records an operation's result. `inputs` are the operation's differentiable inputs in the
    /// order the rule returns gradients for them.
    /// Whether an op on `inputs` would be recorded for differentiation.
    static func isRecording(_ inputs: [Tensor]) -> Bool {
        GradMode.enabled && inputs.contains { $0.node != nil }
    }

    static func record(_ op: StaticString, _ result: DeviceStorage, inputs: [Tensor],
                       rule: @escaping GradNode.Rule) -> Tensor {
        guard GradMode.enabled, inputs.contains(where: { $0.node != nil }) else {
            return Tensor(storage: result)
        }
        return Tensor(storage: result, node: GradNode(op: op, parents: inputs.map(\.node), rule: rule))
    }

    /// Accumulates d(self)/d(leaf) into every leaf that requires gradients. `self` must be a scalar
    /// unless `seed` (the gradient of some outer loss with respect to `self`) is given.
    public func backward(seed: Tensor? = nil) {
        _ = Autograd.run(from: self, seed: seed, capture: [], accumulate: true, createGraph: false)
    }

    /// The gradients of `self` (a scalar) with respect to each of `inputs`, without touching any
    /// leaf's accumulated gradient: PyTorch's `torch.autograd.grad`. An input that `self` does not
    /// depend on gets zeros.
    ///
    /// With `createGraph`, the backward pass records itself as it runs: the gradients returned are
    /// tensors on the tape, functions of the inputs and of every parameter they passed through, so
    /// a loss made of them (a gradient penalty ‖∇ₓD(x)‖²) has gradients of its own — PyTorch's
    /// `torch.autograd.grad(…, create_graph=True)`. Without it nothing extra is recorded or kept.
    public func gradients(wrt inputs: [Tensor], seed: Tensor? = nil, createGraph: Bool = false) -> [Tensor] {
        for x in inputs {
            precondition(x.node != nil, "gradients(wrt:): an input of shape \(x.shape) does not require gradients")
        }
        let found = Autograd.run(from: self, seed: seed, capture: inputs.compactMap(\.node), accumulate: false,
                                 createGraph: createGraph)
        return inputs.map { x in found[ObjectIdentifier(x.node!)] ?? Tensor.zerosLike(x) }
    }

    /// Whether the rule now running records its computation (a backward pass with `createGraph`):
    /// rules then build their gradients from differentiable ops instead of calling the backend.
    static var creatingGraph: Bool { GradMode.enabled && GradMode.node != nil }

    /// Input `k` of the op whose rule is running, from its saved values: on the tape (its producer's
    /// node) while the backward pass records itself, a constant otherwise. Rules keep storages, never
    /// tensors, so a first-order graph holds no more than its values.
    static func input(_ k: Int, _ values: DeviceStorage) -> Tensor {
        Tensor(storage: values, node: creatingGraph ? GradMode.node?.parents[k] : nil)
    }

    /// The output of the op whose rule is running (tanh's, sigmoid's: their derivatives are functions
    /// of it), on the tape while the backward pass records itself.
    static func output(_ values: DeviceStorage) -> Tensor {
        Tensor(storage: values, node: creatingGraph ? GradMode.node : nil)
    }

    static func zerosLike(_ x: Tensor) -> Tensor {
        Tensor(storage: backend.relayout(backend.full(shape: x.shape, value: 0), like: x.storage))
    }
}

enum Autograd {
    static func run(from root: Tensor, seed: Tensor?, capture: [GradNode], accumulate: Bool, createGraph: Bool)
        -> [ObjectIdentifier: Tensor] {
        guard let rootNode = root.node else {
            preconditionFailure("backward: the tensor of shape \(root.shape) does not require gradients")
        }
        let seedGrad: Tensor
        if let seed {
            checkShapes(seed.shape == root.shape, "backward(seed:)", root.shape, seed.shape)
            seedGrad = createGraph ? seed : Tensor(storage: Tensor.backend.relayout(seed.storage, like: root.storage))
        } else {
            checkShapes(root.count == 1, "backward", root.shape, note: "backward() needs a scalar or a seed")
            seedGrad = Tensor(storage: Tensor.backend.relayout(Tensor.backend.full(shape: root.shape, value: 1),
                                                               like: root.storage))
        }
        let order = topologicalOrder(rootNode)
        let wanted = Set(capture.map(ObjectIdentifier.init))
        var captured: [ObjectIdentifier: Tensor] = [:]
        // Interior gradients live in this table only for the pass; leaves keep theirs in `grad`.
        var pending: [ObjectIdentifier: Tensor] = [ObjectIdentifier(rootNode): seedGrad]
        // A node is relevant when a gradient reaching it can end somewhere useful: a wanted node,
        // or any leaf when accumulating. Rules skip the gradients of irrelevant parents.
        var relevant = Set<ObjectIdentifier>()
        for node in order {
            let id = ObjectIdentifier(node)
            if wanted.contains(id) || (accumulate && node.isLeaf)
                || node.parents.contains(where: { $0.map { relevant.contains(ObjectIdentifier($0)) } ?? false }) {
                relevant.insert(id)
            }
        }
        // Rules run unrecorded, unless the pass records itself: then each runs with its node at hand.
        GradMode.$enabled.withValue(createGraph) {
            for node in order.reversed() {
                let id = ObjectIdentifier(node)
                guard let g = pending.removeValue(forKey: id) else { continue }
                if wanted.contains(id) { captured[id] = g }
                guard let rule = node.rule else {
                    if accumulate { node.grad = node.grad.map { $0 + g } ?? g }
                    continue
                }
                let needs = node.parents.map { $0.map { relevant.contains(ObjectIdentifier($0)) } ?? false }
                guard needs.contains(true) else { continue }
                let grads = createGraph ? GradMode.$node.withValue(node) { rule(g, needs) } : rule(g, needs)
                for (i, parent) in node.parents.enumerated() where needs[i] {
                    guard let parent, let gi = grads[i] else { continue }
                    let pid = ObjectIdentifier(parent)
                    pending[pid] = pending[pid].map { $0 + gi } ?? gi
                }
            }
        }
        return captured
    }

    /// Nodes reachable from `root`, parents before children (iterative DFS: deep graphs are fine).
    static func topologicalOrder(_ root: GradNode) -> [GradNode] {
        var order: [GradNode] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(GradNode, Int)] = [(root, 0)]
        visited.insert(ObjectIdentifier(root))
        while let (node, next) = stack.popLast() {
            if next < node.parents.count {
                stack.append((node, next + 1))
                if let p = node.parents[next], visited.insert(ObjectIdentifier(p)).inserted {
                    stack.append((p, 0))
                }
            } else {
                order.append(node)
            }
        }
        return order
    }
}
