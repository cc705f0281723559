import Testing
@testable import Tensors

/// What the engine does behind the values: layouts, kernel choice, caching, memory.
@Suite struct EngineTests {
    /// One step of a small DCGAN at 28×28 (the shapes of the Fashion-MNIST preset, narrower):
    /// G: z → dense 7·7·32 → BN → LReLU → deconv 5×5/2 'same' 16 → BN → LReLU → deconv 5×5/2 'same' 1 → tanh;
    /// D: conv 5×5/2 16 → LReLU → conv 5×5/2 32 → BN → LReLU → flatten → dense 1.
    final class TinyGAN {
        let rng = RandomGenerator(seed: 21)
        var g: [Tensor] = [], d: [Tensor] = []
        init() {
            func p(_ s: [Int], _ std: Float = 0.05) -> Tensor { Tensor.randomNormal(s, std: std, using: rng).requiringGrad() }
            g = [p([7 * 7 * 32, 16]), p([7 * 7 * 32]), p([32], 1), p([32], 0), p([32, 16, 5, 5]), p([16], 1), p([16], 0), p([16, 1, 5, 5])]
            d = [p([16, 1, 5, 5]), p([16]), p([32, 16, 5, 5]), p([32], 1), p([32], 0), p([1, 7 * 7 * 32]), p([1])]
        }
        func generate(_ z: Tensor) -> Tensor {
            var x = Tensor.linear(z, weight: g[0], bias: g[1]).reshaped([z.shape[0], 32, 7, 7])
            x = Tensor.batchNorm(x, scale: g[2], shift: g[3], epsilon: 1e-5).y.leakyReLU()
            x = Tensor.convTranspose2d(x, weight: g[4], stride: (2, 2), padding: .same)
            x = Tensor.batchNorm(x, scale: g[5], shift: g[6], epsilon: 1e-5).y.leakyReLU()
            return Tensor.convTranspose2d(x, weight: g[7], stride: (2, 2), padding: .same).tanh()
        }
        func discriminate(_ x: Tensor) -> Tensor {
            var h = Tensor.conv2d(x, weight: d[0], bias: d[1], stride: (2, 2), padding: .same).leakyReLU()
            h = Tensor.conv2d(h, weight: d[2], stride: (2, 2), padding: .same)
            h = Tensor.batchNorm(h, scale: d[3], shift: d[4], epsilon: 1e-5).y.leakyReLU()
            return Tensor.linear(h.flattened(), weight: d[5], bias: d[6])
        }
        func step(batch: Int = 8) {
            let real = Tensor.randomUniform([batch, 1, 28, 28], low: -1, high: 1, using: rng)
            let z = Tensor.randomNormal([batch, 16], using: rng)
            let fake = generate(z)
            let dLoss = Tensor.binaryCrossEntropy(logits: discriminate(real), target: 0.9)
                + Tensor.binaryCrossEntropy(logits: discriminate(fake.detached), target: 0)
            dLoss.backward()
            for p in d { p.scaleAndAdd(1, p.grad!, -0.01); p.zeroGrad() }
            let gLoss = Tensor.binaryCrossEntropy(logits: discriminate(fake), target: 1)
            let gradsG = gLoss.gradients(wrt: g)
            for (p, gr) in zip(g, gradsG) { p.scaleAndAdd(1, gr, -0.01) }
        }
    }

    @Test func steadyStateCreatesNoPrimitiveRunsNoReferenceKernelAndAllocatesNothing() {
        Engine.removeCachedPrimitives()  // judge only this model's kernels
        let gan = TinyGAN()
        for _ in 0..<3 { gan.step() }
        let warm = Engine.statistics
        for _ in 0..<5 { gan.step() }
        let after = Engine.statistics
        #expect(after.primitivesCreated == warm.primitivesCreated, "primitives created in steady state")
        #expect(after.allocations == warm.allocations, "buffer allocations in steady state")
        #expect(after.bytesReserved == warm.bytesReserved, "memory grew from step to step")
        #expect(after.referenceKernels.isEmpty, "reference kernels in use: \(after.referenceKernels)")
        #expect(!after.implementations.contains { $0.hasPrefix("ref:") })
    }

    @Test func activationsStayBlockedBetweenLayers() {
        let rng = RandomGenerator(seed: 1)
        let x = Tensor.randomNormal([4, 16, 8, 8], using: rng)
        let y = Tensor.conv2d(x, weight: .randomNormal([32, 16, 3, 3], using: rng), padding: .explicit(1, 1))
        let z = Tensor.batchNorm(y, scale: .ones([32]), shift: .zeros([32]), epsilon: 1e-5).y.relu()
        let cy = y.storage as! CPUStorage, cz = z.storage as! CPUStorage
        #expect(!cy.isPlain, "a convolution's output should be in oneDNN's blocked layout")
        #expect(cz.md == cy.md, "batch norm and ReLU should keep the layout they were given")
        // Reading values back reorders to logical NCHW without changing them.
        let direct = Tensor(z.scalars, shape: z.shape)
        #expect((direct - z).square().sum().item == 0)
    }

    @Test func weightReorderIsCachedUntilTheWeightChanges() {
        let rng = RandomGenerator(seed: 2)
        let x = Tensor.randomNormal([2, 8, 6, 6], using: rng)
        let w = Tensor.randomNormal([16, 8, 3, 3], using: rng)
        let first = Tensor.conv2d(x, weight: w).scalars
        let cached = (w.storage as! CPUStorage).derived.count
        _ = Tensor.conv2d(x, weight: w)
        #expect((w.storage as! CPUStorage).derived.count == cached)
        // An in-place update must invalidate the reordered copy.
        w.scaleAndAdd(2, w, 0)
        let second = Tensor.conv2d(x, weight: w).scalars
        #expect(zip(first, second).allSatisfy { abs($0 * 2 - $1) <= 1e-4 * max(1, abs($1)) })
    }

    /// In training, weights of 4 MiB and more are reordered at each use instead (no copy kept per
    /// layout: forward and backward-data want two): nothing is cached on them, and an update is
    /// seen by the next use. Inference (one layout, no update between a generator's batches) keeps
    /// its copy whatever the size, and an update still reaches it.
    @Test func largeWeightsAreReorderedAtEachUseInTraining() {
        let rng = RandomGenerator(seed: 3)
        let x = Ref.random([1, 256, 4, 4], rng)
        let w = Ref.random([512, 256, 3, 3], rng, scale: 0.1)  // 4.7 MB
        let pad = (1, 1, 1, 1)
        for training in [true, false] {
            let wt = training ? w.tensor.requiringGrad() : w.tensor
            #expect((wt.storage as! CPUStorage).buffer.byteCount >= CPUBackend.uncachedReorderBytes)
            let first = Tensor.conv2d(x.tensor, weight: wt, padding: .explicit(1, 1))
            #expect((wt.storage as! CPUStorage).derived.count == (training ? 0 : 1), "training: \(training)")
            #expect(relativeError(first.scalars.map(Double.init), Reference.conv2d(x, w, nil, stride: (1, 1), pad: pad).values) < 1e-5)
            wt.scaleAndAdd(-3, wt, 0)
            let second = Tensor.conv2d(x.tensor, weight: wt, padding: .explicit(1, 1))
            let scaled = Ref(w.values.map { -3 * $0 }, w.shape)
            #expect(relativeError(second.scalars.map(Double.init), Reference.conv2d(x, scaled, nil, stride: (1, 1), pad: pad).values) < 1e-5,
                    "training: \(training)")
        }
    }

    /// The bf16 check reads real flags (every x86-64 CPU has SSE2), so "no bf16" is not a parse failure.
    @Test func cpuFeaturesAreRead() {
        #if arch(x86_64) && os(Linux)
        #expect(CPUFeatures.flags.contains("sse2"), "\(CPUFeatures.flags.sorted().prefix(10))")
        #expect(!CPUFeatures.modelName.isEmpty && !CPUFeatures.modelName.hasPrefix(" "))
        #endif
    }

    @Test func gradientsWithRespectToAnInputLeaveLeavesUntouched() {
        let rng = RandomGenerator(seed: 3)
        let w = Tensor.randomNormal([3, 4], using: rng).requiringGrad()
        let x = Tensor.randomNormal([2, 4], using: rng).requiringGrad()
        let loss = Tensor.linear(x, weight: w, bias: nil).tanh().sum()
        let dx = loss.gradients(wrt: [x])[0]
        #expect(w.grad == nil && x.grad == nil)
        loss.backward()
        #expect(x.grad!.scalars == dx.scalars)
        // Accumulation across two backward passes, then zeroing.
        loss.backward()
        #expect(zip(x.grad!.scalars, dx.scalars).allSatisfy { abs($0 - 2 * $1) < 1e-6 })
        x.zeroGrad()
        #expect(x.grad == nil)
    }

    @Test func noGradScopeRecordsNothing() {
        let w = Tensor.ones([2, 2]).requiringGrad()
        let y = withoutGrad { w * 3 }
        #expect(!y.requiresGrad)
        #expect((w * 3).requiresGrad)
    }
}
