import Foundation
import Testing
import TestSupport
@testable import GANEvaluation
@testable import GANExport
@testable import GANModels
@testable import GANTraining
import Imaging

/// `--conditional` and `--class` as a user meets them.
@Suite(.serialized) struct ConditionalCLITests {
    /// IDX files in a folder named like Fashion-MNIST's, so its classes have Fashion-MNIST's names.
    static let data: String = {
        let dir = scratch("cli-cond-data") + "/fashion-mnist"
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try! writeIDX(brightSquares(48, size: 28), to: dir)
        try! writeIDX(brightSquares(40, size: 28, seed: 9), to: dir, prefix: "t10k")
        return dir
    }()

    @Test func trainSampleInterpolateAndEvaluateByClass() throws {
        let run = scratch("cli-cond") + "/run"
        let r = try runCLI(["train", "--data", Self.data, "--conditional", "--max-steps", "3", "--batch-size", "8", "--width", "4",
                            "--latent", "8", "--out", run])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("conditional on 10 classes (T-shirt/top, Trouser,"), "\(r.stdout)")

        let npyDir = scratch("cli-cond-npy"), npy = npyDir + "/sneakers.npy"
        var s = try runCLI(["sample", run, "--class", "sneaker", "--count", "6", "--out", npy])
        #expect(s.status == 0, "\(s.stderr)")
        #expect(s.stdout.contains("of class 7 (Sneaker)"), "\(s.stdout)")
        let read = try python("import sys, numpy as np\na = np.load(sys.argv[1]); l = np.load(sys.argv[2])\nprint(a.shape, l.dtype, l.tolist())",
                              [npy, npyDir + "/sneakers.labels.npy"])
        #expect(read.trimmingCharacters(in: .whitespacesAndNewlines) == "(6, 28, 28, 1) int64 [7, 7, 7, 7, 7, 7]")

        // Without --class: uniform classes, labelled; a directory gets a folder per class, which
        // loads back as a labelled dataset.
        let dir = scratch("cli-cond-dir") + "/out"
        s = try runCLI(["sample", run, "--class", "Sneaker,8", "--count", "4", "--out", dir + "/"])
        #expect(s.status == 0, "\(s.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["Bag", "Sneaker"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/Bag").sorted() == ["00001.png", "00003.png"])
        let uniformDir = scratch("cli-cond-uniform"), uniform = uniformDir + "/u.npy"
        s = try runCLI(["sample", run, "--count", "200", "--out", uniform])
        #expect(s.status == 0 && s.stdout.contains("classes drawn uniformly"), "\(s.stdout)")
        let classes = try python("import sys, numpy as np\nprint(len(set(np.load(sys.argv[1]).tolist())))", [uniformDir + "/u.labels.npy"])
        #expect(classes.trimmingCharacters(in: .whitespacesAndNewlines) == "10")

        // A class that does not exist: one line listing the valid ones.
        s = try runCLI(["sample", run, "--class", "Boots", "--out", npy])
        #expect(s.status != 0)
        #expect(s.stderr.contains("--class: no class 'Boots'; the classes are 0 T-shirt/top, 1 Trouser, 2 Pullover"), "\(s.stderr)")
        #expect(!s.stderr.contains("Stack") && s.stderr.split(separator: "\n").count <= 2)

        let gif = scratch("cli-cond-gif") + "/walk.gif"
        s = try runCLI(["interpolate", run, "--from-class", "Sneaker", "--to-class", "Ankle boot", "--steps", "4", "--out", gif])
        #expect(s.status == 0 && s.stdout.contains("class Sneaker to Ankle boot"), "\(s.stderr)")
        let frames = try python("import sys\nfrom PIL import Image\nprint(Image.open(sys.argv[1]).n_frames)", [gif])
        #expect(frames.trimmingCharacters(in: .whitespacesAndNewlines) == "4")
        s = try runCLI(["interpolate", run, "--out", gif])
        #expect(s.status != 0 && s.stderr.contains("give --class NAME, or --from-class A --to-class B"), "\(s.stderr)")

        let e = try runCLI(["eval", run, "--count", "40", "--json"], timeout: 600)
        #expect(e.status == 0, "\(e.stderr)")
        let generated = (try json(e.stdout) as! [String: Any])["generated"] as! [String: Any]
        #expect(generated["classAccuracy"] is Double)
        #expect((generated["intraClassFrechetDistances"] as? [Any])?.count == 10)
        let table = try runCLI(["eval", run, "--count", "40"], timeout: 600)
        #expect(table.stdout.contains("class accuracy") && table.stdout.contains("intra-class Fréchet") && table.stdout.contains("\nSneaker "))
    }

    @Test func classesAreRefusedWhereThereAreNone() throws {
        let run = scratch("cli-uncond") + "/run"
        #expect(try runCLI(["train", "--data", Self.data, "--max-steps", "1", "--batch-size", "8", "--width", "4", "--latent", "8",
                            "--out", run]).status == 0)
        let s = try runCLI(["sample", run, "--class", "1", "--out", scratch("cli-uncond-out") + "/x.png"])
        #expect(s.status != 0 && s.stderr.contains("--class applies only to class-conditional generators"), "\(s.stderr)")

        let photos = scratch("cli-cond-photos")
        for i in 0..<8 {
            try ImageCodec.writePNG(Image(width: 8, height: 8, channels: 3, pixels: [UInt8](repeating: UInt8(i * 30), count: 192)),
                                    to: photos + "/\(i).png")
        }
        let t = try runCLI(["train", "--data", photos, "--conditional", "--image-size", "32", "--batch-size", "4", "--max-steps", "1",
                            "--out", scratch("cli-cond-photos-run") + "/run"])
        #expect(t.status != 0)
        #expect(t.stderr.contains("\(photos): no class labels: its images are not sorted into class sub-folders"), "\(t.stderr)")
    }
}
