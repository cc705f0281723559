import DurableIO
import Foundation
import GANModels
import NN
import Protobuf
import Tensors

/// A generator as an ONNX model: input `z` [N, latent] (and `class` [N], int64 class indices, for
/// a conditional generator), output `images` [N, C, H, W] in [-1, 1], or bytes 0–255 with
/// `uint8` (torchvision's mapping, which torch-fidelity takes as a generator's output). Batch
/// norms are folded into the layers before them and activations follow them, as the `Sampler`
/// runs the generator (`InferencePlan`); conditional batch norms gather each sample's γ and β.
///
/// The protocol buffers are written field by field with `ProtobufWriter`, the same choice as for
/// TensorBoard's events: the model is write-only and its messages few.
public enum ONNXExport {
    public enum Batch: Equatable, Sendable { case fixed(Int), dynamic }

    public struct Options: Sendable {
        public var opset = 17
        public var batch = Batch.dynamic
        public var uint8 = false
        public init(opset: Int = 17, batch: Batch = .dynamic, uint8: Bool = false) {
            self.opset = opset; self.batch = batch; self.uint8 = uint8
        }
    }

    /// Opsets the exporter's graphs are valid in (Clip's bounds as inputs need 11, Gemm and
    /// BatchNormalization as written 15).
    public static let opsets = 15...21

    /// The serialized `ModelProto` of `generator` (put in evaluation mode).
    public static func model(_ generator: GANGenerator, options: Options = Options()) throws -> Data {
        precondition(opsets.contains(options.opset), "ONNXExport: opset \(options.opset) outside \(opsets)")
        let c = generator.config
        generator.setTraining(false)
        let g = GraphBuilder()
        let n: Dimension = { if case .fixed(let n) = options.batch { return .value(n) } else { return .parameter("N") } }()
        g.inputs.append(valueInfo("z", type: 1, dims: [n, .value(c.latent)]))
        var x = "z", shape = [c.latent]
        if c.isConditional {
            g.inputs.append(valueInfo("class", type: 7, dims: [n]))
            let depth = g.int64s([Int64(c.classes)], dims: [])
            let values = g.floats([0, 1], dims: [2])
            let oneHot = g.node("OneHot", ["class", depth, values], [int("axis", -1)])
            x = g.node("Concat", [x, oneHot], [int("axis", 1)])
            shape = [c.latent + c.classes]
        }
        if c.latentShape(1).count == 4 {
            shape = [shape[0], 1, 1]
            x = g.node("Reshape", [x, g.int64s([0] + shape.map(Int64.init), dims: [4])])
        }
        (x, shape) = try g.plan(InferencePlan(generator.main.layers), x, shape, classes: c.isConditional ? "class" : nil)
        if options.uint8 {
            // torchvision: (x + 1)/2 clamped to [0, 1], · 255 + 0.5, truncated.
            x = g.node("Mul", [g.node("Add", [x, g.floats([1], dims: [])]), g.floats([127.5], dims: [])])
            x = g.node("Clip", [g.node("Add", [x, g.floats([0.5], dims: [])]), g.floats([0], dims: []), g.floats([255], dims: [])])
            x = g.node("Cast", [g.node("Floor", [x])], [int("to", 2)])
        }
        g.rename(x, to: "images")
        g.outputs.append(valueInfo("images", type: options.uint8 ? 2 : 1, dims: [n] + shape.map { .value($0) }))

        var model = ProtobufWriter()
        model.int(1, 8)  // ir_version
        model.string(2, "swiftgan")
        model.string(3, "1")
        model.message(7) { graph in
            for node in g.encoded { graph.bytes(1, node) }
            graph.string(2, "generator")
            for t in g.initializers { graph.bytes(5, t) }
            for v in g.inputs { graph.bytes(11, v) }
            for v in g.outputs { graph.bytes(12, v) }
        }
        model.message(8) { $0.string(1, ""); $0.int(2, options.opset) }
        return model.data
    }

    /// Writes the model durably (temporary file, fsync, rename).
    public static func write(_ generator: GANGenerator, to path: String, options: Options = Options()) throws {
        try DurableFile.write(try model(generator, options: options), to: path)
    }

    /// ONNX's per-side pads [top, left, bottom, right] and the output's spatial size.
    static func geometry(_ padding: Padding, shape: [Int], weight: [Int], stride: Int, transposed: Bool,
                         outputPadding: Int = 0) -> ([Int], [Int]) {
        precondition(shape.count == 3, "ONNXExport: a convolution after \(shape)")
        let (kh, kw) = (weight[2], weight[3])
        let p = padding.resolve(input: (shape[1], shape[2]), kernel: (kh, kw), stride: (stride, stride), transposed: transposed)
        let geometry = ConvGeometry(stride: (stride, stride), padding: p, transposed: transposed)
        let (h, w) = geometry.outputSize(inputH: shape[1], inputW: shape[2], kernelH: kh, kernelW: kw)
        return ([p.top, p.left, p.bottom, p.right], [h + outputPadding, w + outputPadding])
    }

    enum Dimension { case value(Int), parameter(String) }

    static func valueInfo(_ name: String, type: Int, dims: [Dimension]) -> Data {
        var v = ProtobufWriter()
        v.string(1, name)
        v.message(2) { t in
            t.message(1) { tensor in
                tensor.int(1, type)
                tensor.message(2) { shape in
                    for d in dims {
                        shape.message(1) { dim in
                            switch d { case .value(let n): dim.int(1, n); case .parameter(let s): dim.string(2, s) }
                        }
                    }
                }
            }
        }
        return v.data
    }

    typealias Attribute = (inout ProtobufWriter) -> Void
    static func int(_ name: String, _ value: Int) -> Attribute { { $0.string(1, name); $0.int(3, value); $0.int(20, 2) } }
    static func float(_ name: String, _ value: Float) -> Attribute { { $0.string(1, name); $0.float(2, value); $0.int(20, 1) } }
    static func string(_ name: String, _ value: String) -> Attribute { { $0.string(1, name); $0.string(4, value); $0.int(20, 3) } }
    static func ints(_ name: String, _ values: [Int]) -> Attribute {
        { a in a.string(1, name); for v in values { a.int(8, v) }; a.int(20, 7) }
    }
}

/// The nodes and constants of the graph being built.
final class GraphBuilder {
    var initializers: [Data] = [], inputs: [Data] = [], outputs: [Data] = []
    var count = 0
    /// Output names to replace (the last node's output becomes `images`).
    var renamed: [String: String] = [:]

    func fresh(_ prefix: String) -> String { count += 1; return "\(prefix)_\(count)" }

    func tensor(_ name: String, type: Int, dims: [Int], raw: Data) -> String {
        var t = ProtobufWriter()
        for d in dims { t.int(1, d) }
        t.int(2, type)
        t.string(8, name)
        t.bytes(9, raw)
        initializers.append(t.data)
        return name
    }

    func floats(_ values: [Float], dims: [Int]) -> String {
        var raw = Data(capacity: values.count * 4)
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { raw.append(contentsOf: $0) } }
        return tensor(fresh("const"), type: 1, dims: dims, raw: raw)
    }

    func floats(_ t: Tensor) -> String { floats(t.scalars, dims: t.shape) }

    func int64s(_ values: [Int64], dims: [Int]) -> String {
        var raw = Data(capacity: values.count * 8)
        for v in values { withUnsafeBytes(of: v.littleEndian) { raw.append(contentsOf: $0) } }
        return tensor(fresh("const"), type: 7, dims: dims, raw: raw)
    }

    /// A node of `op` on `inputs`; returns its output's name.
    @discardableResult
    func node(_ op: String, _ inputs: [String], _ attributes: [ONNXExport.Attribute] = []) -> String {
        let output = fresh(op.lowercased())
        pending.append((op, inputs, output, attributes))
        return output
    }

    /// The nodes in order, encoded when the graph is read (`rename` may change the last output).
    var pending: [(op: String, inputs: [String], output: String, attributes: [ONNXExport.Attribute])] = []

    func rename(_ output: String, to name: String) { renamed[output] = name }

    /// The encoded nodes, outputs renamed.
    var encoded: [Data] {
        pending.map { p in
            var n = ProtobufWriter()
            for i in p.inputs { n.string(1, renamed[i] ?? i) }
            n.string(2, renamed[p.output] ?? p.output)
            n.string(3, p.output)
            n.string(4, p.op)
            for a in p.attributes { n.message(5, a) }
            return n.data
        }
    }

    func activation(_ op: EltwiseOp?, _ x: String) throws -> String {
        switch op {
        case nil: return x
        case .leakyReLU(let slope)?:
            return slope == 0 ? node("Relu", [x]) : node("LeakyRelu", [x], [ONNXExport.float("alpha", slope)])
        case .tanh?: return node("Tanh", [x])
        case .sigmoid?: return node("Sigmoid", [x])
        case let other?: throw ONNXExportError.unsupported("the activation \(other)")
        }
    }

    /// The nodes of `plan`'s steps applied to `x` of `shape` (without the batch axis); returns the
    /// output's name and shape.
    func plan(_ plan: InferencePlan, _ input: String, _ inputShape: [Int], classes: String?) throws -> (String, [Int]) {
        var x = input, shape = inputShape
        for step in plan.steps {
            switch step {
            case .conv(let layer, let w, let b, let activation):
                let (pads, out) = ONNXExport.geometry(layer.padding, shape: shape, weight: w.shape, stride: layer.stride, transposed: false)
                x = node("Conv", [x, floats(w), b.map { floats($0) }].compactMap { $0 },
                         [ONNXExport.ints("kernel_shape", Array(w.shape[2...])), ONNXExport.ints("strides", [layer.stride, layer.stride]),
                          ONNXExport.ints("pads", pads)])
                shape = [w.shape[0]] + out
                x = try self.activation(activation, x)
            case .deconv(let layer, let w, let b, let activation):
                let (pads, out) = ONNXExport.geometry(layer.padding, shape: shape, weight: w.shape, stride: layer.stride, transposed: true,
                                                      outputPadding: layer.outputPadding)
                var attributes = [ONNXExport.ints("kernel_shape", Array(w.shape[2...])), ONNXExport.ints("strides", [layer.stride, layer.stride]),
                                  ONNXExport.ints("pads", pads)]
                if layer.outputPadding != 0 { attributes.append(ONNXExport.ints("output_padding", [layer.outputPadding, layer.outputPadding])) }
                x = node("ConvTranspose", [x, floats(w), b.map { floats($0) }].compactMap { $0 }, attributes)
                shape = [w.shape[1]] + out
                x = try self.activation(activation, x)
            case .upsampledConv(_, let w, let b, let activation):
                precondition(shape.count == 3, "ONNXExport: an upsampling convolution after \(shape)")
                x = node("ConvTranspose", [x, floats(w), b.map { floats($0) }].compactMap { $0 },
                         [ONNXExport.ints("kernel_shape", [4, 4]), ONNXExport.ints("strides", [2, 2]), ONNXExport.ints("pads", [1, 1, 1, 1])])
                shape = [w.shape[1], 2 * shape[1], 2 * shape[2]]
                x = try self.activation(activation, x)
            case .linear(let w, let b, let activation):
                precondition(shape.count == 1, "ONNXExport: a dense layer after \(shape)")
                let bias = b ?? Tensor.zeros([w.shape[0]])
                x = node("Gemm", [x, floats(w), floats(bias)], [ONNXExport.int("transB", 1)])
                shape = [w.shape[0]]
                x = try self.activation(activation, x)
            case .excitation(_, let body, let gate):
                let (features, bodyShape) = try self.plan(body, x, shape, classes: classes)
                let (weights, _) = try self.plan(gate, x, shape, classes: classes)
                (x, shape) = (node("Mul", [features, weights]), bodyShape)
            case .layer(let layer):
                (x, shape) = try self.layer(layer, x, shape, classes: classes)
            }
        }
        return (x, shape)
    }

    /// A layer the plan runs as it is.
    func layer(_ layer: Module, _ x: String, _ shape: [Int], classes: String?) throws -> (String, [Int]) {
        switch layer {
        case let r as Reshape:
            return (node("Reshape", [x, int64s([0] + r.shape.map(Int64.init), dims: [r.shape.count + 1])]), r.shape)
        case is Flatten:
            return (node("Flatten", [x], [ONNXExport.int("axis", 1)]), [shape.reduce(1, *)])
        case is ReLU: return (node("Relu", [x]), shape)
        case let l as LeakyReLU: return (node("LeakyRelu", [x], [ONNXExport.float("alpha", l.slope)]), shape)
        case is Tanh: return (node("Tanh", [x]), shape)
        case is Sigmoid: return (node("Sigmoid", [x]), shape)
        case is Dropout: return (x, shape)
        case let u as Upsample:
            let scales = floats([1, 1, Float(u.factor), Float(u.factor)], dims: [4])
            return (node("Resize", [x, "", scales], [ONNXExport.string("mode", "nearest"), ONNXExport.string("nearest_mode", "floor"),
                                                     ONNXExport.string("coordinate_transformation_mode", "asymmetric")]),
                    [shape[0], shape[1] * u.factor, shape[2] * u.factor])
        case is GLU:
            let half = shape[0] / 2
            let a = node("Slice", [x, int64s([0], dims: [1]), int64s([Int64(half)], dims: [1]), int64s([1], dims: [1])])
            let b = node("Slice", [x, int64s([Int64(half)], dims: [1]), int64s([Int64(2 * half)], dims: [1]), int64s([1], dims: [1])])
            return (node("Mul", [a, node("Sigmoid", [b])]), [half] + shape.dropFirst())
        case is Swish: return (node("Mul", [x, node("Sigmoid", [x])]), shape)
        case let pool as AdaptiveAvgPool2d:
            let (kh, kw) = (shape[1] / pool.size, shape[2] / pool.size)
            if kh == 1 && kw == 1 { return (x, shape) }
            return (node("AveragePool", [x], [ONNXExport.ints("kernel_shape", [kh, kw]), ONNXExport.ints("strides", [kh, kw])]),
                    [shape[0], pool.size, pool.size])
        case let bn as BatchNorm:
            return (node("BatchNormalization", [x, floats(bn.weight.value), floats(bn.bias.value), floats(bn.runningMean.value),
                                                floats(bn.runningVar.value)], [ONNXExport.float("epsilon", bn.epsilon)]), shape)
        case let cbn as ConditionalBatchNorm:
            guard let classes else { throw ONNXExportError.unsupported("a conditional batch norm in an unconditional generator") }
            let channels = shape[0]
            let normalized = node("BatchNormalization", [x, floats(.ones([channels])), floats(.zeros([channels])),
                                                         floats(cbn.runningMean.value), floats(cbn.runningVar.value)],
                                  [ONNXExport.float("epsilon", cbn.epsilon)])
            func rows(_ table: Tensor) -> String {
                let gathered = node("Gather", [floats(table), classes], [ONNXExport.int("axis", 0)])
                return shape.count == 1 ? gathered
                    : node("Reshape", [gathered, int64s([0, Int64(channels)] + [Int64](repeating: 1, count: shape.count - 1), dims: [shape.count + 1])])
            }
            return (node("Add", [node("Mul", [normalized, rows(cbn.weight.value)]), rows(cbn.bias.value)]), shape)
        default:
            throw ONNXExportError.unsupported("the layer \(type(of: layer))")
        }
    }
}

public enum ONNXExportError: Error, Equatable, CustomStringConvertible {
    case unsupported(String)
    public var description: String {
        switch self { case .unsupported(let what): return "cannot export to ONNX: \(what) has no ONNX form here" }
    }
}
