import Foundation
import Testing
import TestSupport
import Tensors
@testable import GANEvaluation
@testable import GANExport
@testable import GANModels
@testable import GANTraining
import Imaging

/// The command line as a user meets it: the built `swiftgan` in a subprocess.
@Suite(.serialized) struct CLITests {
    static let data: String = {
        let dir = scratch("cli-data")
        try! writeIDX(brightSquares(48, size: 28), to: dir)
        try! writeIDX(brightSquares(32, size: 28, seed: 9), to: dir, prefix: "t10k")
        return dir
    }()

    static func train(_ out: String, _ extra: [String] = []) throws -> CommandResult {
        try runCLI(["train", "--data", data, "--max-steps", "3", "--batch-size", "8", "--width", "4", "--latent", "8",
                    "--sample-every", "2", "--out", out] + extra)
    }

    /// The penalties from the command line: R3GAN's recipe lazily (the metrics carry the
    /// penalty), WGAN-GP, and a bad weight refused in one line naming the flag.
    @Test func trainWithGradientPenalties() throws {
        let run = scratch("cli-penalty") + "/run"
        let r = try Self.train(run, ["--loss", "rpgan", "--r1", "1", "--r2", "0.5", "--penalty-every", "2steps"])
        #expect(r.status == 0, "\(r.stderr)")
        let config = try String(contentsOfFile: run + "/config.json", encoding: .utf8)
        #expect(config.contains("\"loss\" : \"rpgan\"") && config.contains("\"penaltyEvery\" : 2"), "\(config)")
        #expect(try String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8).contains("\"loss_d_penalty\""))
        let bad = try runCLI(["train", "--data", Self.data, "--r1", "-1", "--out", scratch("cli-penalty-bad") + "/run"])
        #expect(bad.status != 0 && bad.stderr.contains("--r1 must be 0 or more, got -1"), "\(bad.stderr)")
        let wgan = try Self.train(scratch("cli-wgan") + "/run", ["--loss", "wgan-gp", "--gp-weight", "5"])
        #expect(wgan.status == 0, "\(wgan.stderr)")
    }

    @Test func trainSampleAndInterpolate() throws {
        let run = scratch("cli-run") + "/run"
        let r = try Self.train(run)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("done: 3 steps"))
        for f in ["config.json", "metrics.jsonl", "loss.png", "samples/final.png", "samples/step-00000002.png"] {
            #expect(FileManager.default.fileExists(atPath: run + "/" + f), "\(f)")
        }
        #expect(try String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8).contains("\"loss_d\""))

        let grid = scratch("cli-out") + "/grid.png"
        var s = try runCLI(["sample", run, "--count", "10", "--seed", "4", "--out", grid])
        #expect(s.status == 0, "\(s.stderr)")
        let image = try ImageCodec.read(grid)
        #expect(image.width == (8 * (28 + 2) + 2) * 2 && image.height == (2 * (28 + 2) + 2) * 2)  // a grid of 28×28 tiles, ×2

        let npy = scratch("cli-npy") + "/x.npy"
        s = try runCLI(["sample", run, "--count", "5", "--seed", "4", "--out", npy])
        #expect(s.status == 0, "\(s.stderr)")
        let stats = try python("import sys, numpy as np\na = np.load(sys.argv[1])\nprint(a.shape, a.dtype, bool(a.min() >= -1 and a.max() <= 1))", [npy])
        #expect(stats.trimmingCharacters(in: .whitespacesAndNewlines) == "(5, 28, 28, 1) float32 True")
        let again = scratch("cli-npy2") + "/x.npy"
        _ = try runCLI(["sample", run, "--count", "5", "--seed", "4", "--out", again])
        #expect(try Data(contentsOf: URL(fileURLWithPath: npy)) == Data(contentsOf: URL(fileURLWithPath: again)))

        let dir = scratch("cli-dir") + "/pngs"
        s = try runCLI(["sample", run, "--count", "3", "--out", dir + "/"])
        let written = try FileManager.default.contentsOfDirectory(atPath: dir).count
        #expect(s.status == 0 && written == 3)

        let gif = scratch("cli-gif") + "/walk.gif"
        s = try runCLI(["interpolate", run, "--from", "1", "--to", "2", "--steps", "6", "--out", gif])
        #expect(s.status == 0, "\(s.stderr)")
        let frames = try python("import sys\nfrom PIL import Image\nprint(Image.open(sys.argv[1]).n_frames)", [gif])
        #expect(frames.trimmingCharacters(in: .whitespacesAndNewlines) == "6")
    }

    @Test func evalReportsEveryMetricAsJSONAndExplainsUnlabelledData() throws {
        let run = scratch("cli-eval") + "/run"
        #expect(try Self.train(run).status == 0)
        let r = try runCLI(["eval", run, "--count", "40", "--json"], timeout: 600)
        #expect(r.status == 0, "\(r.stderr)")
        let o = try json(r.stdout) as! [String: Any]
        let generated = o["generated"] as! [String: Any]
        for key in ["frechetDistance", "classifierScore", "classCoverage", "classHistogramKL", "precision", "recall"] {
            #expect(generated[key] != nil, "\(key)")
        }
        #expect((o["realFloor"] as! [String: Any])["frechetDistance"] != nil && o["classifierAccuracy"] != nil)
        let table = try runCLI(["eval", run, "--count", "40"], timeout: 600)
        #expect(table.status == 0 && table.stdout.contains("Fréchet distance") && table.stdout.contains("real (floor)"))

        // A folder of photos has no labels: eval says which metrics it cannot compute and why.
        let photos = scratch("cli-photos")
        for i in 0..<4 {
            try ImageCodec.writePNG(Image(width: 28, height: 28, channels: 1, pixels: [UInt8](repeating: UInt8(i * 60), count: 784)),
                                    to: photos + "/\(i).png")
        }
        let unlabelled = try runCLI(["eval", run, "--data", photos, "--count", "10"])
        #expect(unlabelled.status != 0 && unlabelled.stderr.contains("has no labels") && unlabelled.stderr.contains("Give --features FILE"),
                "\(unlabelled.stderr)")
        // With a classifier file, the folder itself is the reference set.
        let judge = scratch("cli-judge") + "/classifier.safetensors"
        try Classifier(imageSize: 28, channels: 1, classes: 10).save(to: judge, metadata: ["classes": "10"])
        let withFeatures = try runCLI(["eval", run, "--data", photos, "--features", judge, "--count", "10", "--json"])
        #expect(withFeatures.status == 0, "\(withFeatures.stderr)")
        #expect(((try json(withFeatures.stdout) as! [String: Any])["generated"] as! [String: Any])["frechetDistance"] != nil)
    }

    @Test func badFlagsGetOneLineNamingTheFlag() throws {
        let out = scratch("cli-bad") + "/run"
        var cases: [([String], String)] = [
            (["train", "--epochs=-1"], "error: --epochs must be positive, got -1"),
            (["train", "--epochs", "-1"], "error: --epochs must be positive, got -1"),
            (["train", "--batch-size", "0"], "error: --batch-size must be positive, got 0"),
            (["train", "--lr-g", "nan"], "error: --lr-g must be a positive number, got nan"),
            (["train", "--loss", "wgan"], "error: --loss expects one of bce, lsgan, hinge, wgan-gp, rpgan, got wgan"),
            (["train", "--frobnicate"], "error: unknown option '--frobnicate'"),
            (["train", "--bach-size", "8"], "error: unknown option '--bach-size'; did you mean --batch-size?"),
            (["train", "--sample-every", "2epochs"], "error: --sample-every counts steps, not epochs; got 2epochs"),
            (["train", "--precision", "fp16"], "error: --precision expects one of fp32, bf16, got fp16"),
            (["sample", "--count", "0", "x", "--out", "y.png"], "--count must be a positive integer, got 0"),
        ]
        // Without bf16 dot products, bf16 is refused naming what is needed and what this CPU is
        // (with them it trains: BF16TrainingTests).
        if !CPUFeatures.hasBF16 {
            cases.append((["train", "--precision", "bf16"], "error: --precision needs a CPU with AVX512-BF16 or AMX-BF16 ("))
        }
        for (args, expected) in cases {
            let r = try runCLI(args + ["--out", out].filter { _ in args[0] == "train" })
            #expect(r.status != 0, "\(args)")
            let first = r.stderr.split(separator: "\n").first.map(String.init) ?? ""
            #expect(first.contains(expected), "\(args): \(r.stderr)")
        }
    }

    /// Flags that cannot do what they say are refused in one line, before any work; file-system
    /// failures are one line with the path and the system's plain reason.
    @Test func flagsThatWouldBeIgnoredAreRefused() throws {
        let run = scratch("cli-refuse") + "/run"
        #expect(try Self.train(run).status == 0)
        let o = scratch("cli-refuse-out")
        let cases: [([String], String)] = [
            (["sample", run, "--count", "4", "--out", o + "/s.txt"],
             "error: \(o)/s.txt: expected a grid (.png), an array (.npy) or a directory (an existing one, or a new one written with a trailing /: \(o)/s.txt/)"),
            (["sample", run, "--count", "4", "--out", o + "/x.npy", "--columns", "3"], "error: --columns applies only to a grid (--out ending in .png)"),
            (["sample", run, "--count", "100000", "--out", o + "/g.png"], "error: \(o)/g.png: a grid of 100000 images would be "),
            (["sample", run, "--count", "2000000000", "--out", o + "/x.npy"], "error: \(o)/x.npy: needs 5.7 TiB but only "),
            (["sample", run, "--count", "\(Int.max)", "--out", o + "/y.npy"], "error: \(o)/y.npy: needs more than 8 EiB but only "),
            (["sample", run, "--count", "\(Int.max)", "--out", o + "/many/"], "error: \(o)/many: needs more than 8 EiB but only "),
            (["train", "--data", Self.data, "--image-size", "7", "--out", o + "/r1"],
             "error: --image-size applies only to folders of photos and emoji; \(Self.data) is an IDX dataset, whose images keep their own size and channels"),
            (["train", "--data", Self.data, "--channels", "3", "--out", o + "/r2"], "error: --channels applies only to folders of photos and emoji"),
            (["train", "--data", Self.data, "--background", "black", "--out", o + "/r2b"], "error: --background applies only to folders of photos and emoji"),
            (["train", "--data", Self.data, "--skin-tones", "--out", o + "/r2c"], "error: --skin-tones applies only to the emoji set (--data emoji)"),
            (["train", "--data", "emoji", "--image-size", "256", "--out", o + "/r2d"], "error: emoji: the font's bitmaps are 128 pixels: sizes up to 128 (asked for 256)"),
            (["train", "--data", Self.data, "--model", "mlp", "--width", "8", "--out", o + "/r3"], "error: --width does not apply to the mlp model"),
            (["train", "--data", Self.data, "--eval-count", "100", "--out", o + "/r4"], "error: --eval-count applies only with evaluations during training"),
            (["train", "--data", Self.data, "--loss", "hinge", "--label-smoothing", "0.9", "--out", o + "/r5"],
             "error: --label-smoothing does not apply to the hinge loss"),
            (["train", "--data", Self.data, "--model", "sngan", "--label-smoothing", "0.9", "--out", o + "/r6"],
             "error: --label-smoothing does not apply to the hinge loss"),
            (["train", "--data", Self.data, "--limit-random", "--out", o + "/r7"], "error: --limit-random applies only with an image limit"),
            (["train", "--data", Self.data, "--augment", "color,flip", "--out", o + "/r8"],
             "error: --augment expects a list of color, translation, cutout or none, got color,flip"),
            (["train", "--data", Self.data, "--ema", "1", "--out", o + "/r9"], "error: --ema must be in [0, 1), got 1"),
            (["train", "--data", Self.data, "--aux-classifier", "--out", o + "/r10"],
             "error: --aux-classifier applies only to a conditional model (it predicts classes)"),
            (["train", "--data", Self.data, "--conditional", "--aux-weight", "2", "--out", o + "/r11"],
             "error: --aux-weight applies only with the auxiliary classifier"),
            (["train", "--resume", run, "--lr-g", "0.1", "--seed", "3"],
             "error: --lr-g, --seed cannot change when resuming: a run keeps the settings it started with; only --epochs, --max-steps and --minutes can change"),
            (["train", "--data", Self.data, "--batch-size", "8", "--out", "/etc/hostname"], "error: /etc/hostname: cannot write: it is a file, not a directory"),
            (["sample", run, "--count", "4", "--out", "/etc/hostname/"], "error: /etc/hostname: is a file, not a directory"),
            (["train", "--checkpoint-minutes=-1"], "error: --checkpoint-minutes must be 0 or more, got -1"),
        ]
        for (args, expected) in cases {
            let r = try runCLI(args)
            // The library's errors are one line; the argument parser's add a usage line.
            let lines = r.stderr.split(separator: "\n").count
            #expect(r.status != 0 && r.stderr.hasPrefix(expected) && (lines == 1 || expected.hasPrefix("Error:")), "\(args): \(r.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: o + "/x.npy") && !FileManager.default.fileExists(atPath: o + "/s.txt"))
        // The old behaviours: a directory named s.txt, a grid at 28×28 of a 7×7 request.
        #expect((try FileManager.default.contentsOfDirectory(atPath: o)).isEmpty)
    }

    /// The modern preset from the command line: its defaults land in config.json, the small
    /// dataset switches DiffAugment on, --limit trains on the subset, and the checkpoint holds the
    /// averaged generator and the trained one.
    @Test func snganWithItsDefaultsAndALimit() throws {
        let run = scratch("cli-sngan") + "/run"
        let r = try runCLI(["train", "--model", "sngan", "--data", Self.data, "--batch-size", "8", "--width", "4", "--latent", "8",
                            "--limit", "16", "--limit-random", "--epochs", "2", "--sample-every", "0", "--out", run])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("16 of 48 images"), "\(r.stdout)")
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: run + "/config.json"))) as! [String: Any]
        #expect(config["loss"] as? String == "hinge" && config["ema"] as? Double == 0.999)
        #expect(config["augment"] as? [String] == ["color", "translation", "cutout"])
        #expect((config["model"] as? [String: Any])?["spectralNorm"] as? String == "d")
        let checkpoint = try Checkpoint.resolve(run)
        #expect(checkpoint.hasSuffix("step-00000004"))
        for file in ["generator.safetensors", "generator-trained.safetensors", "discriminator.safetensors"] {
            #expect(FileManager.default.fileExists(atPath: checkpoint + "/" + file), "\(file)")
        }
        let s = try runCLI(["sample", run, "--count", "4", "--out", scratch("cli-sngan-out") + "/g.png"])
        #expect(s.status == 0, "\(s.stderr)")
    }

    /// When no checkpoint's state can be read, `--resume` names the newest one's file and why.
    @Test func resumeWithNoReadableStateNamesTheNewest() throws {
        let run = scratch("cli-unreadable") + "/run"
        #expect(try Self.train(run).status == 0)
        for checkpoint in Checkpoint.list(run + "/checkpoints") {
            try Data("{".utf8).write(to: URL(fileURLWithPath: checkpoint + "/state.json"))
        }
        let newest = try #require(Checkpoint.list(run + "/checkpoints").last)
        let r = try runCLI(["train", "--resume", run])
        #expect(r.status == 1 && r.stderr.hasPrefix("error: \(newest)/state.json: unreadable checkpoint state"), "\(r.stderr)")
    }

    @Test func badInputsFailWithoutAStackTrace() throws {
        let missing = try runCLI(["train", "--data", "/no/such/data", "--out", scratch("cli-m") + "/r"])
        #expect(missing.status == 1 && missing.stderr == "error: /no/such/data: no such file or folder\n")

        let unwritable = try Self.train("/proc/swiftgan-cannot-write")
        #expect(unwritable.status == 1 && unwritable.stderr.hasPrefix("error: /proc/swiftgan-cannot-write: cannot write"), "\(unwritable.stderr)")

        // The library's errors speak of values and paths; the CLI adds the flags to change.
        let taken = scratch("cli-taken") + "/r"
        #expect(try Self.train(taken).status == 0)
        let again = try Self.train(taken)
        #expect(again.status == 1 && again.stderr == "error: \(taken): it already holds a run (use --resume to continue it or choose another --out)\n",
                "\(again.stderr)")
        let diverging = try Self.train(scratch("cli-nan") + "/r", ["--lr-g", "1e30", "--lr-d", "1e30"])
        #expect(diverging.status == 1 && diverging.stderr.hasPrefix("error: the ") && diverging.stderr.contains("NaN or infinite at step")
                && diverging.stderr.hasSuffix("Try lower learning rates or another loss. (--lr-g, --lr-d, --loss)\n"), "\(diverging.stderr)")

        let wrongSize = try runCLI(["train", "--model", "catdcgan", "--data", Self.data, "--out", scratch("cli-w") + "/r"])
        #expect(wrongSize.status != 0 && wrongSize.stderr.contains("catdcgan is built for 128×128, not 28×28"), "\(wrongSize.stderr)")

        let notACheckpoint = try runCLI(["sample", scratch("cli-empty"), "--out", scratch("cli-o") + "/x.png"])
        #expect(notACheckpoint.status == 1 && notACheckpoint.stderr.contains("no checkpoint here"))

        // A checkpoint whose state says another preset, and one with a corrupted generator.
        let run = scratch("cli-ck") + "/run"
        #expect(try Self.train(run).status == 0)
        let ck = try Checkpoint.resolve(run)
        let stateFile = ck + "/state.json"
        let original = try String(contentsOfFile: stateFile, encoding: .utf8)
        // (Whatever preset trained it: the default's name is not this test's business.)
        try original.replacingOccurrences(of: #""preset" : "[a-z-]+""#, with: #""preset" : "mlp""#, options: .regularExpression)
            .write(toFile: stateFile, atomically: true, encoding: .utf8)
        #expect(try String(contentsOfFile: stateFile, encoding: .utf8).contains(#""preset" : "mlp""#))
        let other = try runCLI(["sample", run, "--out", scratch("cli-o2") + "/x.png"])
        #expect(other.status == 1 && other.stderr.contains("does not hold a generator for mlp at 28×28×1"), "\(other.stderr)")
        try original.write(toFile: stateFile, atomically: true, encoding: .utf8)
        let weights = ck + "/generator.safetensors"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: weights))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: weights))
        let corrupt = try runCLI(["sample", run, "--out", scratch("cli-o3") + "/x.png"])
        #expect(corrupt.status == 1 && corrupt.stderr.contains("generator.safetensors: truncated safetensors file"), "\(corrupt.stderr)")
        // Resuming skips the unreadable checkpoint, saying so, and continues from the one before.
        let resume = try runCLI(["train", "--resume", run])
        #expect(resume.status == 0, "\(resume.stderr)")
        #expect(resume.stdout.contains("warning: skipping checkpoint \(ck): \(weights): truncated safetensors file"), "\(resume.stdout)")
        #expect(resume.stdout.contains("from \(run)/checkpoints/step-00000000"), "\(resume.stdout)")
        #expect(!corrupt.stderr.contains("Stack") && !corrupt.stderr.contains("Fatal"))
    }

    @Test func ctrlCCheckpointsAndSaysHowToResume() throws {
        let run = scratch("cli-int") + "/run"
        let p = try TestProcess(swiftgan(), ["train", "--data", Self.data, "--batch-size", "8", "--width", "4", "--latent", "8",
                                             "--epochs", "1000", "--sample-every", "0", "--out", run])
        // Wait (bounded) until the first step has run, then interrupt.
        p.wait(upTo: 120) { !((try? String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8)) ?? "").isEmpty }
        kill(p.pid, SIGINT)
        let r = p.finish(within: 60)
        #expect(r.status == 130)
        #expect(r.stdout.contains("resume with: swiftgan train --resume \(run)"), "\(r.stdout)")
        #expect(Checkpoint.list(run + "/checkpoints").count == 2)  // the initial state and the interrupted one
    }
}
