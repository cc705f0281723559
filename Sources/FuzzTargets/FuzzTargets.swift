import Datasets
import Foundation
import GANModels
import GANTraining
import Imaging
import NN

/// Every reader of bytes from outside, as a function of those bytes: what `swiftgan-fuzz` runs
/// under libFuzzer (`make fuzz`) and what the regression tests replay. A reader may accept the
/// bytes or refuse them with a typed error; anything else (a trap, an overflow, a read out of
/// bounds, an allocation the input's size does not justify) is a bug.
public enum FuzzTarget: String, CaseIterable, Sendable {
    case idx, svhn, cifar, safetensors, state, config, image
    /// The labels file beside IDX images (three 2×2 images, Fashion-MNIST's folder name).
    case idxLabels
    /// CIFAR's `batches.meta.txt`: the class names.
    case classNames
    /// A `.npy` array (latent vectors for `sample --noise`).
    case npy
    /// Unicode's `emoji-test.txt`, the list the emoji set is drawn from.
    case emojiList
    /// A picture uploaded to the studio to be projected (its header read before it is decoded).
    case upload

    /// The file name the reader sees (some readers tell formats from names).
    var fileName: String {
        switch self {
        case .idx: return "train-images-idx3-ubyte"
        case .svhn: return "train_32x32.mat"
        case .cifar: return "data_batch_1.bin"
        case .safetensors: return "weights.safetensors"
        case .state: return "state.json"
        case .config: return "config.json"
        case .image: return "image"
        case .idxLabels: return "train-labels-idx1-ubyte"
        case .classNames: return "batches.meta.txt"
        case .npy: return "latents.npy"
        case .emojiList: return "emoji-test.txt"
        case .upload: return "upload"
        }
    }

    /// Runs the reader on `data`, through a file in `directory` where the reader takes a path.
    /// Returns true when it accepted the bytes, false when it refused them with an error.
    @discardableResult
    public func run(_ data: Data, in directory: String) -> Bool {
        let path = directory + "/" + fileName
        do {
            switch self {
            case .image:
                let image = try ImageCodec.decode(data, file: "input")
                precondition(image.pixels.count == image.width * image.height * image.channels)
                // What a folder of photos does next: transparency composited, then the square.
                let flat = image.flattened(onto: 255)
                precondition(flat.channels == 1 || flat.channels == 3)
                _ = flat.centerCroppedSquare()
                return true
            case .upload:
                let image = try ImageCodec.decode(untrusted: data, file: "input", maxPixels: 4096 * 4096)
                precondition(image.width * image.height <= 4096 * 4096)
                // What the studio does next: the picture as the generator's input.
                _ = ProjectionTargets.tensor([image.flattened(onto: 255)], size: 16, channels: 3)
                return true
            case .emojiList:
                let entries = try Emoji.entries(parsing: String(decoding: data, as: UTF8.self), file: "input")
                precondition(entries.allSatisfy { !$0.scalars.isEmpty && $0.group != "Component" })
                return true
            case .config:
                let config = try JSONDecoder().decode(TrainingConfig.self, from: data)
                _ = config.problem
                return true
            case .npy:
                let (shape, values) = try NPY.decode(data, file: "input")
                precondition(values.count == shape.reduce(1, *))
                // What `sample --noise` does next: find the first non-finite row, and map values to pixels.
                _ = Sampler.firstNonFiniteRow(values, columns: shape.last ?? 1)
                for v in values.prefix(4096) { _ = Image.byte(fromSigned: v) }
                return true
            default:
                break
            }
            try data.write(to: URL(fileURLWithPath: path))
            switch self {
            case .idx, .svhn, .cifar:
                let d = try DatasetLoader.load(path, cacheDirectory: nil)
                precondition(d.pixels.count == d.count * d.height * d.width * d.channels)
                if d.count > 0 { _ = d.image(d.count - 1) }
                _ = d.indicesByClass()
            case .idxLabels:
                let images = directory + "/train-images-idx3-ubyte"
                let header: [UInt8] = [0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2]
                try Data(header + [UInt8](repeating: 9, count: 12)).write(to: URL(fileURLWithPath: images))
                let d = try IDX.dataset(images: images, labels: path, name: "fashion")
                precondition(d.labels?.count == d.count && d.labels!.allSatisfy { Int($0) < d.classCount })
                _ = d.indicesByClass()
            case .classNames:
                let names = try CIFAR.classNames(in: directory)
                precondition(names.count == 10)
            case .safetensors:
                let file = try SafeTensors(contentsOf: path)
                for (_, tensor) in try file.allTensors() { _ = tensor.shape }
            case .state:
                let state = try Checkpoint.readState(directory)
                _ = state.config.problem
            case .config, .image, .npy, .emojiList, .upload:
                break
            }
            return true
        } catch {
            _ = "\(error)"  // every error must describe itself
            return false
        }
    }

    /// A scratch directory for one fuzzing process (in memory where /dev/shm exists).
    public static func scratchDirectory() -> String {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let dir = base + "/swiftgan-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }
}
