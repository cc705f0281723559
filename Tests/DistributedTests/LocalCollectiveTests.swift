import Dispatch
import Foundation
import Testing
@testable import Distributed

/// The in-process stand-in for MPI behaves as MPI's collectives do.
@Suite struct LocalCollectiveTests {
    /// Runs `body` on every member of a group of `size` threads; the results in rank order.
    static func onEveryRank<T>(_ size: Int, function: String = #function, _ body: @escaping @Sendable (LocalCollective) throws -> T) -> [T] {
        try! LocalCollective.run(ranks: size, timeout: 120, caller: function, body)
    }

    @Test func allReduceSumsOverTheRanksInPlace() {
        let sums = Self.onEveryRank(3) { c -> [Float] in
            var v: [Float] = [Float(c.rank), 1, Float(c.rank * c.rank)]
            try c.allReduceSum(&v)
            return v
        }
        #expect(sums == Array(repeating: [3, 3, 5], count: 3))
        let doubles = Self.onEveryRank(2) { c -> [Double] in
            var v: [Double] = [0.5 + Double(c.rank)]
            try c.allReduceSum(&v)
            return v
        }
        #expect(doubles == [[2], [2]])
    }

    @Test func broadcastGivesEveryRankTheRootsValues() {
        let floats = Self.onEveryRank(3) { c -> [Float] in
            var v: [Float] = [Float(c.rank + 10), Float(c.rank)]
            try c.broadcast(&v, root: 1)
            return v
        }
        #expect(floats == Array(repeating: [11, 1], count: 3))
        let bytes = Self.onEveryRank(3) { c in try c.broadcast(c.rank == 0 ? Data("rank zero".utf8) : Data(), root: 0) }
        #expect(bytes.allSatisfy { String(decoding: $0, as: UTF8.self) == "rank zero" })
    }

    @Test func allGatherListsEveryRanksStringInRankOrder() {
        let lists = Self.onEveryRank(4) { c in try c.allGather("r\(c.rank)") }
        #expect(lists.allSatisfy { $0 == ["r0", "r1", "r2", "r3"] })
    }

    /// Many rounds in a row: a fast rank never reads a later round's result into an earlier one.
    @Test func roundsStayInStepUnderContention() {
        let totals = Self.onEveryRank(4) { c -> Double in
            var total = 0.0
            for i in 0..<500 {
                var v = [Double(c.rank * i)]
                try c.allReduceSum(&v)
                total += v[0]
            }
            return total
        }
        let expected = (0..<500).reduce(0.0) { $0 + Double(6 * $1) }
        #expect(totals == Array(repeating: expected, count: 4))
    }

    /// Taking turns, one rank computes at a time: none is inside its compute section while another is.
    @Test func ranksTakingTurnsNeverComputeAtOnce() throws {
        let inside = Counter()
        let overlaps = try LocalCollective.run(ranks: 3, takingTurns: true, timeout: 120) { c -> Int in
            var seen = 0
            for _ in 0..<50 {
                if inside.enter() > 1 { seen += 1 }
                usleep(100)
                inside.leave()
                var v: [Float] = [1]
                try c.allReduceSum(&v)
            }
            return seen
        }
        #expect(overlaps == [0, 0, 0])
    }
}

final class Counter: @unchecked Sendable {
    let lock = NSLock()
    var count = 0
    func enter() -> Int { lock.withLock { count += 1; return count } }
    func leave() { lock.withLock { count -= 1 } }
}
