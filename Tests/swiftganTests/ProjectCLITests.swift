import Foundation
import Testing
import TestSupport
import Imaging

/// `swiftgan project`: pictures in, latents out, and back through `sample --noise`.
@Suite(.serialized) struct ProjectCLITests {
    /// Pictures `sample` drew (as PNG files) are projected: the latents written draw them again
    /// through `sample --noise` within a few levels of 255; the figure and the GIF are read by
    /// Pillow; the distances file names every image.
    @Test func picturesComeBackThroughSampleNoise() throws {
        let run = try LatentsCLITests.tinyRun("cli-project")
        let dir = scratch("cli-project-out")
        var s = try runCLI(["sample", run, "--count", "3", "--seed", "4", "--out", dir + "/targets/"])
        #expect(s.status == 0, "\(s.stderr)")
        s = try runCLI(["project", run, dir + "/targets", "--out", dir + "/z.npy", "--steps", "60", "--restarts", "2", "--candidates", "64",
                        "--gif", dir + "/progress.gif", "--baseline", "100"])
        #expect(s.status == 0 && s.stdout.contains("wrote 3 latent vectors to") && s.stdout.contains("mean absolute pixel error")
                && s.stdout.contains("the nearest of 100 random pictures"), "\(s.stdout) \(s.stderr)")
        s = try runCLI(["sample", run, "--noise", dir + "/z.npy", "--out", dir + "/again/"])
        #expect(s.status == 0, "\(s.stderr)")
        let report = try python("""
        import sys, json, numpy as np
        from PIL import Image
        d = sys.argv[1]
        names = sorted(f for f in __import__('os').listdir(d + '/targets'))
        again = sorted(f for f in __import__('os').listdir(d + '/again'))
        diffs = [float(np.abs(np.asarray(Image.open(d + '/targets/' + a), np.float64) - np.asarray(Image.open(d + '/again/' + b), np.float64)).mean())
                 for a, b in zip(names, again)]
        report = json.load(open(d + '/z.json'))
        files = [e['file'].split('/')[-1] for e in report['images']]
        figure = Image.open(d + '/z.png')
        gif = Image.open(d + '/progress.gif')
        base = report['baseline']
        # This generator of 2 steps draws nearly one picture: the nearest random one is about as near.
        better = all(e['pixel_error'] <= b + 1e-3 for e, b in zip(report['images'], base['pixel_errors'])) and base['count'] == 100 \
            and len(base['pixel_errors']) == 3 and len(base['perceptual_distances']) == 3
        print(json.dumps({'better': better, 'diffs': diffs, 'files_ok': files == names, 'errors': [e['pixel_error'] for e in report['images']],
                          'figure': figure.size, 'frames': gif.n_frames, 'z': list(np.load(d + '/z.npy').shape)}))
        """, [dir])
        let r = try JSONSerialization.jsonObject(with: Data(report.utf8)) as! [String: Any]
        let diffs = r["diffs"] as! [Double], errors = r["errors"] as! [Double]
        #expect(diffs.count == 3 && diffs.allSatisfy { $0 < 3 }, "mean |Δ| of 255 between the targets and their redrawn pictures: \(diffs)")
        #expect(errors.allSatisfy { $0 < 0.012 } && r["files_ok"] as? Bool == true, "\(report)")
        // The baseline is reported beside the projection, which is no farther.
        #expect(r["better"] as? Bool == true, "\(report)")
        #expect(r["z"] as? [Int] == [3, 8] && (r["frames"] as? Int ?? 0) >= 10, "\(report)")
        // Three columns of 28-pixel tiles with 2 pixels of padding; a row of targets and one of reconstructions.
        #expect(r["figure"] as? [Int] == [3 * 30 + 2, 2 * 30 + 2], "\(report)")
    }

    /// A folder's unreadable file is named and skipped; a bad file is one line naming it, a bad flag
    /// value a line naming the flag (then the usage).
    @Test func badInputIsOneLineNamingTheFileOrFlag() throws {
        let run = try LatentsCLITests.tinyRun("cli-project-bad")
        let dir = scratch("cli-project-bad-out")
        var s = try runCLI(["sample", run, "--count", "2", "--out", dir + "/images/"])
        #expect(s.status == 0, "\(s.stderr)")
        write(Array("not a picture".utf8), dir + "/images/broken.png")
        write(Array("not a picture".utf8), dir + "/broken.jpg")
        try FileManager.default.createDirectory(atPath: dir + "/empty", withIntermediateDirectories: true)
        s = try runCLI(["project", run, dir + "/images", "--out", dir + "/z.npy", "--steps", "2", "--candidates", "8"])
        #expect(s.status == 0 && s.stdout.contains("skipped \(dir)/images/broken.png") && s.stdout.contains("wrote 2 latent vectors"), "\(s.stdout) \(s.stderr)")
        for (args, message) in [([dir + "/missing.png"], "missing.png: no such file or folder"),
                                ([dir + "/broken.jpg"], "broken.jpg"),
                                ([dir + "/empty"], "empty: a folder with no images"),
                                ([dir + "/images", "--steps", "0"], "--steps must be from 1 to 100000"),
                                ([dir + "/images", "--restarts", "0"], "--restarts must be from 1 to 64"),
                                ([dir + "/images", "--candidates", "2"], "--candidates must be from the number of restarts (4) to 65536"),
                                ([dir + "/images", "--lr", "nan"], "--lr must be in (0, 10]"),
                                ([dir + "/images", "--perceptual-weight=-1"], "--perceptual-weight must be a finite number ≥ 0"),
                                ([dir + "/images", "--class", "bag"], "--class applies only to class-conditional generators"),
                                ([dir + "/images", "--gif", dir + "/p.png"], "--gif: expected a .gif path")] {
            s = try runCLI(["project", run] + args + ["--out", dir + "/x.npy"])
            // A flag's bad value is argument-parser's usage error: the message, then the usage.
            let first = s.stderr.split(separator: "\n").first.map(String.init) ?? ""
            #expect(s.status != 0 && first.contains(message) && (args.contains { $0.hasPrefix("--") } || s.stderr.split(separator: "\n").count == 1),
                    "\(args): \(s.stderr)")
        }
        s = try runCLI(["project", run, dir + "/images", "--out", dir + "/x.png"])
        #expect(s.status != 0 && s.stderr.contains("--out: expected a .npy path"), "\(s.stderr)")
    }
}
