// The fuzzing driver. Built with `-sanitize=fuzzer,address -DFUZZING` (see `make fuzz`), libFuzzer
// calls `fuzzOne` with inputs it mutates from a seed corpus, for the reader named by
// $SWIFTGAN_FUZZ_TARGET. Built normally, it replays files: `swiftgan-fuzz TARGET FILE…`.
import Foundation
import FuzzTargets

#if FUZZING
import CSystem

let target: FuzzTarget = {
    let name = ProcessInfo.processInfo.environment["SWIFTGAN_FUZZ_TARGET"] ?? ""
    guard let t = FuzzTarget(rawValue: name) else {
        fputs("SWIFTGAN_FUZZ_TARGET must be one of \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")), got '\(name)'\n", stderr)
        exit(2)
    }
    return t
}()
let directory = FuzzTarget.scratchDirectory()

func fuzzOne(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    target.run(count == 0 ? Data() : Data(bytes: bytes!, count: count), in: directory)
    return 0
}

// SwiftPM links an executable's entry point as `<module>_main`; libFuzzer's driver runs from it.
@_cdecl("swiftgan_fuzz_main")
func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { fuzzOne($0, $1) }
}
#else
@main struct Replay {
    static func main() {
        let args = CommandLine.arguments.dropFirst()
        guard let name = args.first, let target = FuzzTarget(rawValue: name) else {
            print("usage: swiftgan-fuzz TARGET FILE…  (TARGET: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")))")
            exit(2)
        }
        let directory = FuzzTarget.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for file in args.dropFirst() {
            guard let data = FileManager.default.contents(atPath: file) else { print("\(file): cannot read"); exit(1) }
            print("\(file): \(target.run(data, in: directory) ? "accepted" : "refused")")
        }
    }
}
#endif
