// swift-tools-version:6.0
import PackageDescription

// The architecture, bottom up: each target may import only those above it in this file, and the
// test `ArchitectureTests` fails on an edge that points the other way (docs/architecture.md).
//
//   swiftgan (CLI) → GANTraining → GANEvaluation → GANModels → NN → Tensors → CDNNL
//                  → GANStudio ─→ RunFormat ─┘ (also under GANTraining)
//                  → GANExport ──────────────┘       Datasets, Imaging, DurableIO, TensorBoard
//   GANTraining → Distributed (Collective; MPI loaded at run time)
let package = Package(
    name: "SwiftGAN",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Tensors", targets: ["Tensors"]),
        .library(name: "NN", targets: ["NN"]),
        .library(name: "Imaging", targets: ["Imaging"]),
        .library(name: "Datasets", targets: ["Datasets"]),
        .library(name: "DurableIO", targets: ["DurableIO"]),
        .library(name: "TensorBoard", targets: ["TensorBoard"]),
        .library(name: "Distributed", targets: ["Distributed"]),
        .library(name: "GANModels", targets: ["GANModels"]),
        .library(name: "GANEvaluation", targets: ["GANEvaluation"]),
        .library(name: "GANExport", targets: ["GANExport"]),
        .library(name: "RunFormat", targets: ["RunFormat"]),
        .library(name: "GANTraining", targets: ["GANTraining"]),
        .library(name: "GANStudio", targets: ["GANStudio"]),
        .executable(name: "swiftgan", targets: ["swiftgan"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // The studio's HTTP and WebSocket server (Swift concurrency over sockets, no SwiftNIO).
        .package(url: "https://github.com/swhitty/FlyingFox", from: "0.27.1"),
        // `make docs`: the DocC catalogs beside each library (swift package generate-documentation).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
    ],
    targets: [
        // ── C system libraries: thin layers, nothing above them sees their types ──────────────
        // oneDNN 2.6 (Debian's libdnnl-dev) and the OpenMP runtime it runs on (libgomp). Only the
        // CPU backend in Tensors imports it.
        .target(name: "CDNNL", linkerSettings: [.linkedLibrary("dnnl"), .linkedLibrary("gomp")]),
        // libpng, libjpeg-turbo, giflib and zlib behind a small C layer that turns their
        // longjmp-style errors into return codes.
        .target(name: "CCodecs",
                linkerSettings: [.linkedLibrary("png16"), .linkedLibrary("turbojpeg"), .linkedLibrary("gif"), .linkedLibrary("z")]),
        // Cairo (Debian's libcairo2-dev) for the text of figures.
        .systemLibrary(name: "CCairo", pkgConfig: "cairo", providers: [.apt(["libcairo2-dev"])]),
        .systemLibrary(name: "CHarfBuzz", pkgConfig: "harfbuzz", providers: [.apt(["libharfbuzz-dev"])]),
        // Durable writes (syncfs), CRC-32C.
        .target(name: "CSystem"),
        .target(name: "CChecksum"),
        // The optimizer's element-wise loops, compiled for AVX-512, AVX2 and baseline x86-64 in one binary.
        .target(name: "CKernels"),
        // Loaded at run time (dlopen), never linked: MPI, for `mpiexec`. A process maps it only
        // when its command uses it.
        .target(name: "CMPI", linkerSettings: [.linkedLibrary("dl")]),

        // ── Foundations ──────────────────────────────────────────────────────────────────────
        // Tensor, RNG, autodiff, ops (forward and backward side by side), the sealed CPU backend.
        .target(name: "Tensors", dependencies: ["CDNNL", "CKernels"]),
        .target(name: "DurableIO", dependencies: ["CSystem"]),
        .target(name: "Protobuf"),
        .target(name: "TensorBoard", dependencies: ["CChecksum", "Protobuf", "DurableIO"]),
        .target(name: "Imaging", dependencies: ["CCodecs", "CCairo", "DurableIO"]),
        .target(name: "Datasets", dependencies: ["Imaging", "Tensors", "CCodecs", "CHarfBuzz", "CSystem", "DurableIO"]),
        // Layers, optimizers, safetensors.
        .target(name: "NN", dependencies: ["Tensors", "DurableIO"]),
        // The Collective protocol of data parallelism: MPI between processes, threads in one.
        .target(name: "Distributed", dependencies: ["CMPI"]),

        // ── GANs ─────────────────────────────────────────────────────────────────────────────
        // The networks (presets), generator checkpoints, Sampler, sample files and figures.
        .target(name: "GANModels", dependencies: ["NN", "Tensors", "Imaging", "Datasets", "DurableIO"]),
        // Classifier, Fréchet distance, precision/recall, Evaluator.
        .target(name: "GANEvaluation", dependencies: ["GANModels", "NN", "Tensors", "Datasets"]),
        // ONNX export of generators.
        .target(name: "GANExport", dependencies: ["GANModels", "NN", "Tensors", "Protobuf", "DurableIO"]),
        // The run directory's format, read and written in one place: file names, metrics.jsonl's
        // lines, the run's lock, its figures. Training writes through it; the studio reads it.
        .target(name: "RunFormat", dependencies: ["GANModels", "Imaging", "DurableIO"]),
        // GANStep and its ingredients, the settings table, Trainer, RunDirectory, checkpoints,
        // data parallelism over a Collective.
        .target(name: "GANTraining", dependencies: ["GANModels", "GANEvaluation", "RunFormat", "NN", "Tensors", "Datasets", "Imaging",
                                                    "DurableIO", "TensorBoard", "Distributed"]),

        // `swiftgan studio`: the web page (compiled into the binary), its JSON API and live updates.
        .target(name: "GANStudio", dependencies: ["GANModels", "RunFormat", "Imaging", "Tensors",
                                                  .product(name: "FlyingFox", package: "FlyingFox"),
                                                  .product(name: "FlyingSocks", package: "FlyingFox")],
                resources: [.embedInCode("Resources/index.html"), .embedInCode("Resources/studio.js"), .embedInCode("Resources/studio.css")]),

        // ── Tools ────────────────────────────────────────────────────────────────────────────
        .target(name: "EngineBench", dependencies: ["CDNNL", "CKernels", "Tensors", "Datasets", "Imaging", "GANModels", "GANTraining", "Distributed"]),
        // Every reader of outside bytes as a function of those bytes, and the libFuzzer driver
        // (`make fuzz`; replays files when built without -DFUZZING).
        .target(name: "FuzzTargets", dependencies: ["Datasets", "NN", "Imaging", "GANModels", "GANTraining"]),
        .executableTarget(name: "swiftgan-fuzz", dependencies: ["FuzzTargets", "CSystem"]),
        // The command line: parses, prints, chooses exit codes.
        .executableTarget(
            name: "swiftgan",
            dependencies: [
                "GANTraining", "GANEvaluation", "GANExport", "GANModels", "GANStudio", "RunFormat", "NN", "Tensors", "Datasets", "Imaging", "EngineBench",
                "DurableIO", "Distributed", "CSystem",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // ── Tests ────────────────────────────────────────────────────────────────────────────
        .target(name: "TestSupport", dependencies: ["Datasets"], path: "Tests/TestSupport"),
        .testTarget(name: "TensorsTests", dependencies: ["Tensors", "CKernels"]),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging", "TestSupport"]),
        .testTarget(name: "TensorBoardTests", dependencies: ["TensorBoard", "Protobuf", "CChecksum"]),
        .testTarget(name: "NNTests", dependencies: ["NN", "Tensors", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "Imaging", "Tensors", "TestSupport"]),
        .testTarget(name: "DistributedTests", dependencies: ["Distributed", "GANTraining", "GANModels", "NN", "Tensors", "Datasets", "TestSupport"]),
        .testTarget(name: "GANTests", dependencies: ["GANModels", "GANEvaluation", "GANExport", "GANTraining", "RunFormat", "NN", "Datasets",
                                                     "Imaging", "Tensors", "TestSupport"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "EngineBenchTests", dependencies: ["EngineBench", "Tensors", "TestSupport"]),
        .testTarget(name: "FuzzTests", dependencies: ["FuzzTargets", "Datasets", "GANModels", "GANEvaluation", "GANExport", "GANTraining", "NN", "Imaging",
                                                      "Tensors", "TestSupport"],
                    exclude: ["Regressions", "Dictionaries"]),
        .testTarget(name: "swiftganTests", dependencies: ["GANModels", "GANEvaluation", "GANExport", "GANTraining", "Distributed", "Imaging",
                                                          "Tensors", "TestSupport", "swiftgan"]),
    ],
    swiftLanguageModes: [.v5]
)
