import FlyingFox
import Foundation
import RunFormat

/// A live page's updates: new metrics lines, new sample grids and new checkpoints of one run, as
/// JSON text messages over a WebSocket, as soon as the trainer writes them.
///
/// The run's files are checked every `interval` (a stat of three paths; TensorBoard watches its
/// event files the same way) and only what changed is sent, so a page never polls or reloads:
///
///     {"type":"metrics","lines":[{…metrics.jsonl line…}, …]}
///     {"type":"samples","latest":"samples/step-00000200.png","samples":[…]}
///     {"type":"checkpoints","checkpoints":[{"name":"step-00000468","step":468}, …]}
///     {"type":"reset"}     metrics.jsonl was rewritten (a resumed run): fetch /api/metrics again
struct RunEvents: WSMessageHandler {
    let run: RunCatalog.Run
    /// Metrics lines up to this step are not sent (the page has them from /api/metrics).
    let after: Int
    let interval: Duration
    let streams: EventStreams

    func makeMessages(for client: AsyncStream<WSMessage>) async throws -> AsyncStream<WSMessage> {
        let id = UUID()
        let (stream, continuation) = AsyncStream<WSMessage>.makeStream()
        let watcher = Task { [run, after, interval] in
            var state = RunWatcher(run: run, after: after)
            while !Task.isCancelled {
                for message in state.changes() { continuation.yield(.text(message)) }
                try? await Task.sleep(for: interval)
            }
        }
        // The page closing its socket (or going away) ends the watcher.
        let listener = Task {
            for await message in client { if case .close = message { break } }
            continuation.finish()
        }
        continuation.onTermination = { _ in
            watcher.cancel()
            listener.cancel()
            streams.remove(id)
        }
        streams.add(id, continuation)
        return stream
    }
}

/// What a run's files held when last looked at, and the messages that describe what changed since.
struct RunWatcher {
    let run: RunCatalog.Run
    var after: Int
    private var offset: UInt64 = 0
    private var latestSample: String? = nil
    private var checkpoints: [String]? = nil

    init(run: RunCatalog.Run, after: Int) { self.run = run; self.after = after }

    mutating func changes() -> [String] {
        var messages: [String] = []
        let (lines, reset) = newMetricsLines()
        if reset { messages.append(Self.json(["type": "reset"])) }
        if !lines.isEmpty { messages.append(Self.json(["type": "metrics", "lines": lines])) }
        let grids = run.sampleGrids()
        if let last = grids.last, last != latestSample {
            let first = latestSample == nil
            latestSample = last
            // The page has the grids of its first load; only later ones are news.
            if !first { messages.append(Self.json(["type": "samples", "latest": last, "samples": grids])) }
        }
        let names = run.checkpoints()
        if names != checkpoints {
            let first = checkpoints == nil
            checkpoints = names
            if !first {
                messages.append(Self.json(["type": "checkpoints", "checkpoints": RunCatalog.Run.describe(checkpoints: names)]))
            }
        }
        return messages
    }

    /// Complete lines appended to metrics.jsonl since the last look (a line still being written
    /// waits for its newline); `reset` when the file shrank.
    private mutating func newMetricsLines() -> (lines: [[String: Any]], reset: Bool) {
        let file = run.directory.metricsFile
        guard let handle = FileHandle(forReadingAtPath: file) else { return ([], false) }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()) ?? 0
        var reset = false
        if size < offset { offset = 0; after = -1; reset = true }
        guard size > offset else { return ([], reset) }
        try? handle.seek(toOffset: offset)
        // At most 4 MiB per look: a long history arrives over several messages.
        guard let data = try? handle.read(upToCount: Int(min(size - offset, 4 << 20))), let end = data.lastIndex(of: UInt8(ascii: "\n")) else {
            return ([], reset)
        }
        offset += UInt64(end - data.startIndex + 1)
        return (MetricsReader.lines(in: data[data.startIndex...end], after: after).lines, reset)
    }

    static func json(_ object: [String: Any]) -> String {
        String(decoding: (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8), as: UTF8.self)
    }
}
