// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "SwiftGAN",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Tensors", targets: ["Tensors"]),
        .library(name: "NN", targets: ["NN"]),
        .library(name: "Imaging", targets: ["Imaging"]),
        .library(name: "Datasets", targets: ["Datasets"]),
        .executable(name: "swiftgan", targets: ["swiftgan"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // Thin C module over oneDNN 2.6 (Debian's libdnnl-dev) and the OpenMP runtime it runs on
        // (libgomp). Nothing above the CPU backend imports it.
        .target(
            name: "CDNNL",
            linkerSettings: [.linkedLibrary("dnnl"), .linkedLibrary("gomp")]
        ),
        // libpng, libjpeg-turbo, giflib and zlib behind a small C layer that turns their
        // longjmp-style errors into return codes.
        .target(
            name: "CCodecs",
            linkerSettings: [.linkedLibrary("png16"), .linkedLibrary("turbojpeg"), .linkedLibrary("gif"), .linkedLibrary("z")]
        ),
        // LAPACK's symmetric eigensolver for the Fréchet distance.
        .target(name: "CLinearAlgebra", linkerSettings: [.linkedLibrary("lapacke")]),
        // Durable writes (temporary file, fsync, rename, directory fsync) and plain file-system errors.
        .target(name: "CSystem"),
        .target(name: "DurableIO", dependencies: ["CSystem"]),
        // CRC-32C (SSE4.2 instruction, table fallback), the Protocol Buffers wire format for writing,
        // and TensorBoard's event files on them.
        .target(name: "CChecksum"),
        .target(name: "Protobuf"),
        .target(name: "TensorBoard", dependencies: ["CChecksum", "Protobuf", "DurableIO"]),
        // MPI (Debian's MPICH) behind a thin C layer, and the communicator data-parallel training uses.
        .systemLibrary(name: "CMPIHeaders", pkgConfig: "mpich", providers: [.apt(["libmpich-dev"])]),
        .target(name: "CMPI", dependencies: ["CMPIHeaders"]),
        .target(name: "Distributed", dependencies: ["CMPI"]),
        .target(name: "Tensors", dependencies: ["CDNNL"]),
        // Cairo (Debian's libcairo2-dev) for the text of figures: class names beside grid rows.
        .systemLibrary(name: "CCairo", pkgConfig: "cairo", providers: [.apt(["libcairo2-dev"])]),
        .target(name: "Imaging", dependencies: ["CCodecs", "CCairo", "DurableIO"]),
        .target(name: "Datasets", dependencies: ["Imaging", "Tensors", "CCodecs", "DurableIO"]),
        .target(name: "NN", dependencies: ["Tensors", "DurableIO"]),
        .target(name: "GAN", dependencies: ["NN", "Tensors", "Datasets", "Imaging", "CLinearAlgebra", "DurableIO", "TensorBoard",
                                            "Distributed"]),
        .target(name: "EngineBench", dependencies: ["Tensors", "Datasets", "Imaging", "GAN", "Distributed"]),
        // Every reader of outside bytes as a function of those bytes, and the libFuzzer driver
        // (`make fuzz`; replays files when built without -DFUZZING).
        .target(name: "FuzzTargets", dependencies: ["Datasets", "NN", "Imaging", "GAN"]),
        .executableTarget(name: "swiftgan-fuzz", dependencies: ["FuzzTargets", "CSystem"]),
        .executableTarget(
            name: "swiftgan",
            dependencies: [
                "GAN", "NN", "Tensors", "Datasets", "Imaging", "EngineBench", "DurableIO", "Distributed",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(name: "TestSupport", dependencies: ["Datasets"], path: "Tests/TestSupport"),
        .testTarget(name: "TensorsTests", dependencies: ["Tensors"]),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging", "TestSupport"]),
        .testTarget(name: "TensorBoardTests", dependencies: ["TensorBoard", "Protobuf", "CChecksum"]),
        .testTarget(name: "NNTests", dependencies: ["NN", "Tensors", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "Imaging", "Tensors", "TestSupport"]),
        .testTarget(name: "GANTests", dependencies: ["GAN", "NN", "Datasets", "Imaging", "Tensors", "TestSupport"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "EngineBenchTests", dependencies: ["EngineBench", "Tensors", "TestSupport"]),
        .testTarget(name: "FuzzTests", dependencies: ["FuzzTargets", "Datasets", "GAN", "NN", "Imaging", "Tensors", "TestSupport"],
                    exclude: ["Regressions"]),
        .testTarget(name: "swiftganTests", dependencies: ["GAN", "Imaging", "Tensors", "TestSupport", "swiftgan"]),
    ],
    swiftLanguageModes: [.v5]
)
