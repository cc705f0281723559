// The measurement behind SymmetricEigen (issue 33): the Swift eigensolver against LAPACK's dsyevd
// (liblapacke.so.3, dlopen'ed here only) on covariance-like matrices, time and agreement. Not part
// of the build; run it by hand, with each BLAS first on the library path:
//   swiftc -O Sources/GANEvaluation/SymmetricEigen.swift scripts/eigen-vs-lapack.swift -o /tmp/eigen-vs-lapack
//   LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread /tmp/eigen-vs-lapack 128 512
//   LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/blas:/usr/lib/x86_64-linux-gnu/lapack /tmp/eigen-vs-lapack 128 512
// (needs Debian's liblapacke3 besides the BLAS packages).
import Foundation
#if canImport(Glibc)
import Glibc
#endif
typealias F = @convention(c) (Int32, CChar, CChar, Int32, UnsafeMutablePointer<Double>, Int32, UnsafeMutablePointer<Double>) -> Int32
setenv("OPENBLAS_NUM_THREADS", "1", 0)
let lib = dlopen("liblapacke.so.3", RTLD_NOW)!
let dsyevd = unsafeBitCast(dlsym(lib, "LAPACKE_dsyevd")!, to: F.self)
let maps = (try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8)) ?? ""
print("BLAS:", Set(maps.split(separator: "\n").compactMap { $0.split(separator: " ").last.map(String.init) }.filter { $0.contains("blas") || $0.contains("lapack") }).sorted())
var state: UInt64 = 1
func rnd() -> Double { state = state &* 6364136223846793005 &+ 1442695040888963407; return Double(state >> 11) / Double(1 << 53) - 0.5 }
for n in CommandLine.arguments.dropFirst().map({ Int($0)! }) {
    // A covariance-like matrix: XᵀX/m of m = 2n samples.
    let m = 2 * n
    var x = (0..<(m * n)).map { _ in rnd() }
    for i in 0..<m { for j in 0..<n { x[i * n + j] *= Double(j % 7 + 1) } }
    var c = [Double](repeating: 0, count: n * n)
    for s in 0..<m { for i in 0..<n { let xi = x[s*n+i]; for j in 0..<n { c[i*n+j] += xi * x[s*n+j] / Double(m) } } }
    var tS = [Double](), tL = [Double]()
    var eS: SymmetricEigen! ; var wL = [Double](repeating: 0, count: n); var aL = c
    let reps = n <= 256 ? 7 : (n <= 512 ? 3 : 1)
    for _ in 0..<reps {
        var t0 = Date(); eS = SymmetricEigen(c, n: n); tS.append(Date().timeIntervalSince(t0))
        aL = c; t0 = Date(); let r = dsyevd(101, 86, 85, Int32(n), &aL, Int32(n), &wL); tL.append(Date().timeIntervalSince(t0)); precondition(r == 0)
    }
    let maxDiff = zip(eS.values, wL).map { abs($0 - $1) }.max()!
    let scale = wL.map(abs).max()!
    // Residual ‖A v − λ v‖ of the Swift vectors
    var res = 0.0
    for k in 0..<n { for i in 0..<n { var s = 0.0; for j in 0..<n { s += c[i*n+j] * eS.vectors[k*n+j] }; res = max(res, abs(s - eS.values[k] * eS.vectors[k*n+i])) } }
    print(String(format: "n %4d  swift %.4f s  lapack %.4f s  (median of %d)  max |λ_swift − λ_lapack| / max|λ| %.2e  residual %.2e", n, tS.sorted()[reps/2], tL.sorted()[reps/2], reps, maxDiff/scale, res/scale))
}
