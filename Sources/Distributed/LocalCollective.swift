import Foundation

/// A group of threads of one process acting as the ranks of a job: the in-process stand-in for
/// MPI, with the same semantics, for testing data-parallel training without `mpiexec`.
///
/// ```swift
/// let sums = try LocalCollective.run(ranks: 2) { rank in
///     var v: [Float] = [Float(rank.rank)]
///     try rank.allReduceSum(&v)             // [1] on both
///     return v
/// }
/// ```
///
/// The compute engine has one owner thread at a time, so `run(ranks:takingTurns: true)` lets the
/// ranks compute in turns: a rank runs until it waits in a collective, and another takes over.
public final class LocalCollective: Collective, @unchecked Sendable {
    public let rank: Int
    public var size: Int { hub.size }
    public var hostName: String { "local" }
    let hub: Hub

    init(rank: Int, hub: Hub) { self.rank = rank; self.hub = hub }

    /// `size` members of one new group; give each to its own thread.
    public static func group(size: Int) -> [LocalCollective] {
        precondition(size >= 1, "LocalCollective.group: size must be positive, got \(size)")
        let hub = Hub(size: size)
        return (0..<size).map { LocalCollective(rank: $0, hub: hub) }
    }

    public func allReduceSum(_ values: inout [Float]) throws { values = hub.exchange(rank, values, combine: Self.sum) }
    public func allReduceSum(_ values: inout [Double]) throws { values = hub.exchange(rank, values, combine: Self.sum) }

    public func broadcast(_ values: inout [Float], root: Int) throws {
        values = hub.exchange(rank, values) { $0[root] }
    }

    public func broadcast(_ data: Data, root: Int) throws -> Data { hub.exchange(rank, data) { $0[root] } }

    public func allGather(_ text: String) throws -> [String] {
        let mine = String(decoding: Array(text.utf8.prefix(255)), as: UTF8.self)
        return hub.exchange(rank, [mine]) { $0.flatMap { $0 } }
    }

    /// Runs `body` once per rank of a new group of `ranks`, each on a thread of its own (a pool
    /// with fewer threads than ranks would wait forever in the first collective), and returns their
    /// results in rank order; the first error thrown, if any. With `takingTurns`, one rank computes
    /// at a time (the engine is not shared between threads): each yields its turn while it waits in
    /// a collective. A group that has not finished after `timeout` seconds stops the process with a
    /// message naming `caller` (a collective that a rank never reaches must not hang a test suite).
    public static func run<T>(ranks: Int, takingTurns: Bool = false, timeout: Double = 300, caller: String = #function,
                              _ body: @escaping @Sendable (LocalCollective) throws -> T) throws -> [T] {
        let group = self.group(size: ranks)
        if takingTurns { group[0].hub.turn = NSLock() }
        let results = Results<T>(ranks), done = DispatchGroup()
        for member in group {
            done.enter()
            let thread = Thread {
                member.hub.turn?.lock()
                let result = Result { try body(member) }
                member.hub.turn?.unlock()
                results.set(member.rank, result)
                done.leave()
            }
            thread.stackSize = 16 << 20
            thread.start()
        }
        guard done.wait(timeout: .now() + timeout) == .success else {
            fatalError("\(caller): the \(ranks) ranks did not finish within \(Int(timeout)) s (a collective waits for a rank that never came)")
        }
        return try results.all()
    }

    public func abort(code: Int32) -> Never { fatalError("LocalCollective: rank \(rank) aborted the group with code \(code)") }

    static func sum<T: AdditiveArithmetic>(_ all: [[T]]) -> [T] {
        precondition(all.allSatisfy { $0.count == all[0].count }, "LocalCollective.allReduceSum: counts differ: \(all.map(\.count))")
        var total = all[0]
        for other in all.dropFirst() { for i in total.indices { total[i] += other[i] } }
        return total
    }

    /// Where the members meet: each operation is a round in which every member deposits its value
    /// and the last to arrive combines them; every member leaves with the combination.
    final class Hub: @unchecked Sendable {
        let size: Int
        let condition = NSCondition()
        /// Held by the rank computing, when the ranks take turns.
        var turn: NSLock?
        var deposits: [Any?]
        var arrived = 0
        var round = 0
        var combined: Any?

        init(size: Int) { self.size = size; deposits = Array(repeating: nil, count: size) }

        func exchange<T>(_ rank: Int, _ value: T, combine: ([T]) -> T) -> T {
            turn?.unlock()
            defer { turn?.lock() }
            condition.lock()
            defer { condition.unlock() }
            let mine = round
            deposits[rank] = value
            arrived += 1
            if arrived == size {
                combined = combine(deposits.map { $0 as! T })
                deposits = Array(repeating: nil, count: size)
                arrived = 0
                round += 1
                condition.broadcast()
            } else {
                // The next round cannot complete before this member has read this one's result.
                while round == mine { condition.wait() }
            }
            return combined as! T
        }
    }

    /// The ranks' results, written under a lock.
    final class Results<T>: @unchecked Sendable {
        var slots: [Result<T, Error>?]
        let lock = NSLock()
        init(_ n: Int) { slots = Array(repeating: nil, count: n) }
        func set(_ rank: Int, _ result: Result<T, Error>) { lock.withLock { slots[rank] = result } }
        func all() throws -> [T] { try lock.withLock { try slots.map { try $0!.get() } } }
    }
}
