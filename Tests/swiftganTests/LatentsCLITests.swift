import Foundation
import Testing
import TestSupport
import Imaging
import Tensors

/// `sample --noise` and `--save-noise`: reproducing and editing particular images.
@Suite(.serialized) struct LatentsCLITests {
    /// `sample --precision bf16`: where the CPU has bf16, the fp32 images within bf16's rounding and
    /// the same on every run; elsewhere a one-line refusal naming the flag.
    @Test func sampleInBF16() throws {
        let run = scratch("cli-bf16") + "/run"
        #expect(try runCLI(["train", "--data", CLITests.data, "--max-steps", "2", "--batch-size", "8", "--width", "16", "--latent", "8",
                            "--out", run]).status == 0)
        let dir = scratch("cli-bf16-out")
        let bf16 = try runCLI(["sample", run, "--count", "20", "--precision", "bf16", "--out", dir + "/bf16.npy"])
        guard CPUFeatures.hasBF16 else {
            print("bf16 generation skipped: this CPU has neither AVX512-BF16 nor AMX-BF16")
            #expect(bf16.status != 0 && bf16.stderr.hasPrefix("error: --precision bf16 needs a CPU with AVX512-BF16 or AMX-BF16"), "\(bf16.stderr)")
            return
        }
        #expect(bf16.status == 0, "\(bf16.stderr)")
        #expect(try runCLI(["sample", run, "--count", "20", "--precision", "bf16", "--out", dir + "/again.npy"]).status == 0)
        #expect(try runCLI(["sample", run, "--count", "20", "--out", dir + "/fp32.npy"]).status == 0)
        let report = try python("""
        import sys, numpy as np
        a, b, c = (np.load(f) for f in sys.argv[1:4])
        print(float(np.abs(a - b).max()), int(np.array_equal(b, c)))
        """, [dir + "/fp32.npy", dir + "/bf16.npy", dir + "/again.npy"])
        let fields = report.split(separator: " ").map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) }
        let largest = try #require(Double(fields[0]))
        #expect(largest > 0 && largest < 0.06 && fields[1] == "1", "max |Δ| \(largest), repeatable \(fields[1])")
    }

    /// A run of 2 steps of a DCGAN 4 wide with latents of 8, in a scratch folder named `name`.
    static func tinyRun(_ name: String) throws -> String {
        let run = scratch(name) + "/run"
        let r = try runCLI(["train", "--data", CLITests.data, "--max-steps", "2", "--batch-size", "8", "--width", "4", "--latent", "8", "--out", run])
        #expect(r.status == 0, "\(r.stderr)")
        return run
    }

    @Test func latentsFromAFileReproduceAndEditImages() throws {
        let run = try Self.tinyRun("cli-latents")
        let dir = scratch("cli-latents-out")
        var s = try runCLI(["sample", run, "--count", "5", "--seed", "4", "--save-noise", dir + "/z.npy", "--out", dir + "/a.npy"])
        #expect(s.status == 0 && s.stdout.contains("wrote the 5 latent vectors to"), "\(s.stderr)")
        // The saved latents are the seed's, and give the same images.
        s = try runCLI(["sample", run, "--noise", dir + "/z.npy", "--out", dir + "/b.npy"])
        #expect(s.status == 0, "\(s.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/a.npy")) == Data(contentsOf: URL(fileURLWithPath: dir + "/b.npy")))
        // float64 latents, one row edited: only that image changes.
        try python("""
        import sys, numpy as np
        z = np.load(sys.argv[1]); print(z.shape, z.dtype)
        z = z.astype(np.float64); z[2] *= -1
        np.save(sys.argv[2], z)
        """, [dir + "/z.npy", dir + "/edited.npy"])
        s = try runCLI(["sample", run, "--noise", dir + "/edited.npy", "--out", dir + "/c.npy"])
        #expect(s.status == 0, "\(s.stderr)")
        let changed = try python("""
        import sys, numpy as np
        a, c = np.load(sys.argv[1]), np.load(sys.argv[2])
        print([int(not np.array_equal(a[i], c[i])) for i in range(5)])
        """, [dir + "/a.npy", dir + "/c.npy"])
        #expect(changed.trimmingCharacters(in: .whitespacesAndNewlines) == "[0, 0, 1, 0, 0]")

        // Wrong shape, wrong type, not .npy, and --count beside --noise: one line each.
        try python("import sys, numpy as np\nnp.save(sys.argv[1], np.zeros((5, 7), np.float32))\nnp.save(sys.argv[2], np.zeros((5, 8), np.int64))",
                   [dir + "/wide.npy", dir + "/ints.npy"])
        write(Array("not numpy".utf8), dir + "/text.npy")
        for (file, message) in [("wide.npy", "wide.npy: latents of shape [5, 7]; this generator takes [N, 8]"),
                                ("ints.npy", "ints.npy: dtype <i8 is not supported; expected float32 or float64"),
                                ("text.npy", "text.npy: not a NumPy .npy file")] {
            s = try runCLI(["sample", run, "--noise", dir + "/" + file, "--out", dir + "/x.png"])
            #expect(s.status != 0 && s.stderr.contains(message) && s.stderr.split(separator: "\n").count == 1, "\(s.stderr)")
        }
        s = try runCLI(["sample", run, "--noise", dir + "/z.npy", "--count", "3", "--out", dir + "/x.png"])
        #expect(s.status != 0 && s.stderr.contains("--count comes from --noise"), "\(s.stderr)")

        // A real-versus-generated figure on demand.
        s = try runCLI(["sample", run, "--compare", CLITests.data, "--count", "16", "--out", dir + "/compare.png"])
        #expect(s.status == 0 && s.stdout.contains("beside generated ones"), "\(s.stderr)")
        let figure = try ImageCodec.read(dir + "/compare.png")
        let grid = 8 * (56 + 4) + 4  // 28×28 tiles ×2, padding 2 ×2
        #expect(figure.width == 12 + grid + 24 + grid + 12 && figure.height == 32 + 2 * 60 + 4 + 12, "\(figure.width)×\(figure.height)")
        s = try runCLI(["sample", run, "--compare", CLITests.data, "--out", dir + "/compare.npy"])
        #expect(s.status != 0 && s.stderr.contains("--compare writes a figure: --out must end in .png"), "\(s.stderr)")

        // ONNX export of the run, run by onnxruntime on the saved latents: swiftgan sample's images.
        s = try runCLI(["export", run, "--out", dir + "/g.onnx"])
        #expect(s.status == 0 && s.stdout.contains("z [N, 8]") && s.stdout.contains("opset 17"), "\(s.stderr)")
        let ort = try python("""
        import sys, numpy as np, onnxruntime as ort
        s = ort.InferenceSession(sys.argv[1])
        out = s.run(None, {'z': np.load(sys.argv[2])})[0]
        print(float(np.abs(out.transpose(0, 2, 3, 1) - np.load(sys.argv[3])).max()) < 1e-4)
        """, [dir + "/g.onnx", dir + "/z.npy", dir + "/a.npy"])
        #expect(ort.trimmingCharacters(in: .whitespacesAndNewlines) == "True")
        for (args, message) in [(["--opset", "9"], "--opset must be from 15 to 21, got 9"), (["--batch", "0"], "--batch must be a positive number or dynamic"),
                                (["--out", dir + "/g.pt"], "--out: expected a .onnx path")] {
            s = try runCLI(["export", run] + (args.contains("--out") ? args : args + ["--out", dir + "/x.onnx"]))
            #expect(s.status != 0 && s.stderr.contains(message), "\(s.stderr)")
        }
    }
}

/// Non-finite numbers are input errors or defined pixels, never traps.
@Suite(.serialized) struct NonFiniteCLITests {
    /// Latents holding NaN or ±infinity are refused in one line naming the file and the first bad
    /// row, whatever the output; huge finite latents are fine.
    /// `--truncation ψ` on `sample` and `interpolate`: the saved latents are the seed's pulled
    /// towards one mean by ψ (so `--noise` with them gives the same images), and ψ outside its
    /// range or not a number is refused naming the flag.
    @Test func truncationPullsTheSavedLatentsTowardsTheMean() throws {
        let run = try LatentsCLITests.tinyRun("cli-truncation")
        let dir = scratch("cli-truncation-out")
        var s = try runCLI(["sample", run, "--count", "6", "--seed", "2", "--save-noise", dir + "/z.npy", "--out", dir + "/a.npy"])
        #expect(s.status == 0, "\(s.stderr)")
        s = try runCLI(["sample", run, "--count", "6", "--seed", "2", "--truncation", "0.5", "--save-noise", dir + "/zt.npy", "--out", dir + "/t.npy"])
        #expect(s.status == 0, "\(s.stderr)")
        s = try runCLI(["sample", run, "--noise", dir + "/zt.npy", "--out", dir + "/again.npy"])
        #expect(s.status == 0, "\(s.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/t.npy")) == Data(contentsOf: URL(fileURLWithPath: dir + "/again.npy")))
        let report = try python("""
        import sys, numpy as np
        z, zt = np.load(sys.argv[1]), np.load(sys.argv[2])
        mean = 2 * zt - z       # zt = mean + 0.5 (z - mean)
        print(int(np.allclose(mean, mean[0], atol=1e-5)), float(np.abs(mean[0]).max()), int(not np.array_equal(z, zt)))
        """, [dir + "/z.npy", dir + "/zt.npy"])
        let f = report.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        #expect(f[0] == "1" && Double(f[1])! < 0.1 && f[2] == "1", "\(report)")
        s = try runCLI(["interpolate", run, "--steps", "3", "--truncation", "0.7", "--out", dir + "/w.gif"])
        #expect(s.status == 0, "\(s.stderr)")
        for bad in ["nan", "3", "-2.5"] {
            s = try runCLI(["sample", run, "--truncation=\(bad)", "--out", dir + "/x.png"])
            #expect(s.status != 0 && s.stderr.contains("--truncation must be a number from -2.0 to 2.0"), "\(s.stderr)")
        }
    }

    @Test func nonFiniteLatentsAreRefusedNamingTheRow() throws {
        let run = scratch("cli-nonfinite") + "/run"
        #expect(try CLITests.train(run).status == 0)
        let dir = scratch("cli-nonfinite-out")
        try python("""
        import sys, numpy as np
        d = sys.argv[1]
        z = np.ones((4, 8), np.float32)
        for name, row, value in [("nan", 2, np.nan), ("inf", 1, np.inf), ("-inf", 3, -np.inf)]:
            bad = z.copy(); bad[row, 5] = value; np.save(d + "/" + name + ".npy", bad)
        bad = z.astype(np.float64); bad[0, 0] = np.nan; np.save(d + "/nan64.npy", bad)
        np.save(d + "/huge.npy", np.full((4, 8), 1e30, np.float32))
        """, [dir])
        for (file, row, value) in [("nan", 2, "nan"), ("inf", 1, "inf"), ("-inf", 3, "-inf"), ("nan64", 0, "nan")] {
            for out in ["x.png", "x.npy", "d/"] {
                let s = try runCLI(["sample", run, "--noise", "\(dir)/\(file).npy", "--out", "\(dir)/\(out)"])
                #expect(s.status == 1 && s.stderr == "error: \(dir)/\(file).npy: row \(row) holds \(value); latent vectors must be finite numbers\n",
                        "\(file) → \(out): \(s.status) \(s.stderr)")
            }
        }
        let huge = try runCLI(["sample", run, "--noise", dir + "/huge.npy", "--out", dir + "/huge.npy.out.npy"])
        #expect(huge.status == 0, "\(huge.stderr)")
    }

    /// A generator whose weights hold NaN (a diverged run) still writes every kind of output:
    /// NaN pixels are black, the array's message counts them, nothing traps.
    @Test func nonFiniteImagesBecomeDefinedPixels() throws {
        let run = scratch("cli-nanweights") + "/run"
        #expect(try CLITests.train(run).status == 0)
        let checkpoint = run + "/checkpoints/step-00000003"
        // Half of the last layer's weights NaN, the rest +inf: every pixel NaN or ±inf before tanh.
        try python("""
        import sys, numpy as np
        from safetensors.numpy import load_file, save_file
        from safetensors import safe_open
        path = sys.argv[1]
        with safe_open(path, "np") as f: meta = f.metadata()
        t = load_file(path)
        last = sorted(k for k in t if k.endswith(".weight"))[-1]
        w = t[last].copy(); w.flat[::2] = np.nan; w.flat[1::2] = np.inf; t[last] = w
        save_file(t, path, metadata=meta)
        """, [checkpoint + "/generator.safetensors"])
        let dir = scratch("cli-nanweights-out")
        let grid = try runCLI(["sample", run, "--count", "4", "--out", dir + "/g.png"])
        #expect(grid.status == 0, "\(grid.stderr)")
        let array = try runCLI(["sample", run, "--count", "4", "--out", dir + "/a.npy"])
        #expect(array.status == 0 && array.stdout.contains("NaN or infinite"), "\(array.stdout) \(array.stderr)")
        let folder = try runCLI(["sample", run, "--count", "2", "--out", dir + "/d/"])
        #expect(folder.status == 0, "\(folder.stderr)")
        let gif = try runCLI(["interpolate", run, "--steps", "3", "--out", dir + "/w.gif"])
        #expect(gif.status == 0, "\(gif.stderr)")
        let image = try ImageCodec.read(dir + "/g.png")
        #expect(image.width > 0 && image.height > 0)
    }

    /// The float-to-byte mapping every picture goes through is total.
    @Test func everyFloatHasAByte() {
        #expect(Image.byte(fromSigned: .nan) == 0 && Image.byte(fromSigned: -.nan) == 0)
        #expect(Image.byte(fromSigned: .infinity) == 255 && Image.byte(fromSigned: -.infinity) == 0)
        #expect(Image.byte(fromSigned: 7) == 255 && Image.byte(fromSigned: -7) == 0)
        #expect(Image.byte(fromSigned: 1) == 255 && Image.byte(fromSigned: -1) == 0 && Image.byte(fromSigned: 0) == 128)
        #expect(Image.byte(fromSigned: .greatestFiniteMagnitude) == 255 && Image.byte(fromSigned: .leastNonzeroMagnitude) == 128)
    }
}
