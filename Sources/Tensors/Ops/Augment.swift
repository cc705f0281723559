// Differentiable augmentation (DiffAugment, Zhao et al. 2020): the operations applied to real and
// generated images alike each time the discriminator sees them, with gradients flowing through
// them to the generator. Each takes its random draws explicitly, so that it is a plain function
// to test; `DiffAugment.apply` draws them from a generator.

extension Tensor {
    /// Every image of an [N, C, H, W] batch moved by its own whole-pixel offset: output (i, j) is
    /// input (i + dy, j + dx), zero outside the image. The gradient moves back the other way.
    public func translated(_ offsets: [(dy: Int, dx: Int)]) -> Tensor {
        checkShapes(shape.count == 4 && offsets.count == shape[0], "translated", shape, [offsets.count],
                    note: "an [N, C, H, W] batch and one offset per image")
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        func move(_ x: [Float], sign: Int) -> [Float] {
            var y = [Float](repeating: 0, count: x.count)
            for b in 0..<n {
                let dy = sign * offsets[b].dy, dx = sign * offsets[b].dx
                // Rows i with 0 ≤ i + dy < h, columns j with 0 ≤ j + dx < w.
                let (i0, i1) = (Swift.max(0, -dy), Swift.min(h, h - dy)), (j0, j1) = (Swift.max(0, -dx), Swift.min(w, w - dx))
                guard i0 < i1 && j0 < j1 else { continue }
                for ch in 0..<c {
                    let base = (b * c + ch) * h * w
                    for i in i0..<i1 { for j in j0..<j1 { y[base + i * w + j] = x[base + (i + dy) * w + j + dx] } }
                }
            }
            return y
        }
        let y = Tensor(move(scalars, sign: 1), shape: shape)
        return Tensor.record("translated", y.storage, inputs: [self]) { [shape] g, _ in
            // y(i, j) = x(i + dy, j + dx), so dx(p, q) = dy(p − dy, q − dx): the reverse move (as
            // an op on the tape when the pass records itself: linear, its gradient the forward move).
            if Tensor.creatingGraph { return [g.translated(offsets.map { (-$0.dy, -$0.dx) })] }
            return [Tensor(move(g.scalars, sign: -1), shape: shape)]
        }
    }
}

/// DiffAugment's policy: which operations run, in the order of the reference implementation
/// (colour, then translation, then cutout).
public struct DiffAugment: Sendable, Equatable {
    public enum Operation: String, CaseIterable, Codable, Sendable { case color, translation, cutout }

    public var operations: [Operation]

    public init(_ operations: [Operation]) {
        self.operations = Operation.allCases.filter(operations.contains)
    }

    /// Reads "translation,cutout,color" (any order; duplicates ignored); nil names the unknown word.
    public init(parsing text: String) throws(DiffAugmentError) {
        var ops: [Operation] = []
        // Blanks around a word are dropped (the engine does not import Foundation).
        let words = text.split(separator: ",").map { String($0.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed()) }
        for word in words where !word.isEmpty {
            guard let op = Operation(rawValue: word) else { throw DiffAugmentError.unknown(String(word)) }
            ops.append(op)
        }
        self.init(ops)
    }

    public var isEmpty: Bool { operations.isEmpty }

    /// One `draw` per image for the `n` images `slice.offset..<slice.offset + n` of a batch of
    /// `slice.total` (all `n` when nil): the draws are made for the whole batch and this part's kept,
    /// so processes holding the parts of one batch draw together what one process draws.
    public static func perImage<T>(_ n: Int, of slice: (offset: Int, total: Int)?, _ draw: () -> T) -> [T] {
        let (offset, total) = slice ?? (0, n)
        precondition(offset >= 0 && offset + n <= total, "DiffAugment.perImage: images \(offset)..<\(offset + n) of a batch of \(total)")
        return Array((0..<total).map { _ in draw() }[offset..<(offset + n)])
    }
    public var description: String { operations.map(\.rawValue).joined(separator: ",") }

    /// The augmented batch [N, C, H, W], with every random draw taken from `rng`. `slice` says that
    /// `x` holds images `offset..<offset + N` of a batch of `total` (a process's part of a
    /// data-parallel batch): the draws are made for all `total` images and sliced, so the processes
    /// together augment exactly as one process does the whole batch.
    ///
    /// With a `probability` below 1 (adaptive augmentation, ADA), each operation is applied to each
    /// image with that probability — a draw per image and operation decides, before the
    /// operation's own draws — and the others get its identity (brightness, saturation and
    /// contrast of 0.5, no shift, a cutout outside the image). At 1 no such draw is made, so plain
    /// DiffAugment is unchanged.
    public func apply(_ x: Tensor, using rng: RandomGenerator, slice: (offset: Int, total: Int)? = nil, probability: Float = 1) -> Tensor {
        let n = x.shape[0], (h, w) = (x.shape[2], x.shape[3])
        func each<T>(_ draw: () -> T) -> [T] { Self.perImage(n, of: slice, draw) }
        func gate() -> [Bool] { probability >= 1 ? [Bool](repeating: true, count: n) : each { rng.uniform() < probability } }
        func uniforms(_ on: [Bool]) -> Tensor {
            Tensor(zip(each { rng.uniform() }, on).map { $1 ? $0 : 0.5 }, shape: [n, 1, 1, 1])
        }
        var y = x
        for op in operations {
            // The operation's draws are taken whether or not an image gets it, and an operation no
            // image gets is skipped (the identity would cost a pass over the batch).
            let on = gate(), any = on.contains(true)
            switch op {
            case .color:
                let (b, s, c) = (uniforms(on), uniforms(on), uniforms(on))
                if any { y = Self.contrast(Self.saturation(Self.brightness(y, b), s), c) }
            case .translation:
                // Up to 1/8 of the size either way, as the reference's ratio 0.125.
                let sy = Int(Float(h) * 0.125 + 0.5), sx = Int(Float(w) * 0.125 + 0.5)
                let offsets = each { (rng.integer(in: -sy...sy), rng.integer(in: -sx...sx)) }
                if any { y = y.translated(zip(offsets, on).map { $1 ? $0 : (0, 0) }) }
            case .cutout:
                let (ch, cw) = (Int(Float(h) * 0.5 + 0.5), Int(Float(w) * 0.5 + 0.5))
                let corners = each {
                    (rng.integer(in: 0...(h - 1 + (1 - ch % 2))) - ch / 2, rng.integer(in: 0...(w - 1 + (1 - cw % 2))) - cw / 2)
                }
                if any { y = Self.cutout(y, corners: zip(corners, on).map { $1 ? $0 : (h, w) }, size: (ch, cw)) }
            }
        }
        return y
    }

    /// x + (r − 0.5) per image, r [N, 1, 1, 1] in [0, 1).
    public static func brightness(_ x: Tensor, _ r: Tensor) -> Tensor { x + (r - 0.5) }

    /// Each pixel's distance from its channel mean scaled by 2r per image.
    public static func saturation(_ x: Tensor, _ r: Tensor) -> Tensor {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let mean = x.sum(to: [n, 1, h, w]) * (1 / Float(c))
        return (x - mean) * (r * 2) + mean
    }

    /// Each image's distance from its own mean scaled by r + 0.5.
    public static func contrast(_ x: Tensor, _ r: Tensor) -> Tensor {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let mean = x.sum(to: [n, 1, 1, 1]) * (1 / Float(c * h * w))
        return (x - mean) * (r + 0.5) + mean
    }

    /// Zeroes a `size` rectangle of each image whose top-left corner is `corners[b]` (clipped to
    /// the image).
    public static func cutout(_ x: Tensor, corners: [(Int, Int)], size: (Int, Int)) -> Tensor {
        let (n, h, w) = (x.shape[0], x.shape[2], x.shape[3])
        var mask = [Float](repeating: 1, count: n * h * w)
        for b in 0..<n {
            for i in Swift.max(0, corners[b].0)..<Swift.max(0, Swift.min(h, corners[b].0 + size.0)) {
                for j in Swift.max(0, corners[b].1)..<Swift.max(0, Swift.min(w, corners[b].1 + size.1)) {
                    mask[(b * h + i) * w + j] = 0
                }
            }
        }
        return x * Tensor(mask, shape: [n, 1, h, w])
    }
}

/// A policy naming an operation that does not exist.
public enum DiffAugmentError: Error, Equatable, CustomStringConvertible {
    case unknown(String)
    public var description: String {
        switch self {
        case .unknown(let w): return "'\(w)' is not an augmentation; expected a list of \(DiffAugment.Operation.allCases.map(\.rawValue).joined(separator: ", "))"
        }
    }
}
