// Small datasets the tests make in memory and write in the formats users bring.
import Datasets
import Foundation

/// `n` gray images of `size`×`size`: dark noise with a bright square in the top-left quarter.
public func brightSquares(_ n: Int, size: Int = 32, seed: UInt64 = 1) -> ImageDataset {
    var state = seed
    func next() -> UInt64 { state = state &* 6364136223846793005 &+ 1442695040888963407; return state >> 33 }
    var px = [UInt8](repeating: 0, count: n * size * size)
    for i in 0..<n { for y in 0..<size { for x in 0..<size {
        let inSquare = (size / 8..<size * 3 / 8).contains(x) && (size / 8..<size * 3 / 8).contains(y)
        px[(i * size + y) * size + x] = inSquare ? UInt8(220 + next() % 36) : UInt8(next() % 60)
    } } }
    return ImageDataset(name: "bright-squares", count: n, height: size, width: size, channels: 1, pixels: px,
                        labels: (0..<n).map { Int32($0 % 10) })
}

/// Mean of the square region minus the mean elsewhere, over generated images [N, 1, S, S].
public func squareContrast(_ values: [Float], count: Int, size: Int) -> Float {
    var inside: Float = 0, outside: Float = 0, ni: Float = 0, no: Float = 0
    for i in 0..<count { for y in 0..<size { for x in 0..<size {
        let v = values[(i * size + y) * size + x]
        if (size / 8..<size * 3 / 8).contains(x) && (size / 8..<size * 3 / 8).contains(y) { inside += v; ni += 1 } else { outside += v; no += 1 }
    } } }
    return inside / ni - outside / no
}

/// An IDX pair (images and labels) in `dir`, MNIST-named, from a dataset.
public func writeIDX(_ d: ImageDataset, to dir: String, prefix: String = "train") throws {
    func be(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 255), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)] }
    let images: [UInt8] = [0, 0, 8, 3] + be(d.count) + be(d.height) + be(d.width) + d.pixels
    let labels: [UInt8] = [0, 0, 8, 1] + be(d.count) + (d.labels ?? []).map { UInt8($0) }
    try Data(images).write(to: URL(fileURLWithPath: dir + "/\(prefix)-images-idx3-ubyte"))
    try Data(labels).write(to: URL(fileURLWithPath: dir + "/\(prefix)-labels-idx1-ubyte"))
}
