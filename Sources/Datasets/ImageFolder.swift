import CSystem
import Dispatch
import DurableIO
import Foundation
import Imaging

/// A folder of photos (searched recursively for PNG and JPEG files), each composited over the
/// `background` grey level where it has transparency, centre-cropped to a square, resized to
/// `size`×`size` and converted to `channels` channels (grey images become three equal channels).
///
/// Decoding thousands of photos is done once: the result is cached as one uint8 file in
/// `cacheDirectory`, keyed by the folder's path, the size, the channels and every file's path,
/// length and modification time, so any change to the folder makes a new cache.
/// Files that cannot be decoded are skipped and reported; if more than half fail, loading stops.
///
/// A folder whose images all lie in sub-folders is labelled: each top-level sub-folder is a class
/// (its name the class name, classes in sorted order, as torchvision's `ImageFolder`), and images in
/// deeper folders belong to their top-level one. Images at the top level beside class sub-folders
/// leave the folder unlabelled, with the reason naming them (`requireLabels` reports it).
public enum ImageFolder {
    public static let extensions: Set<String> = ["png", "jpg", "jpeg"]

    /// The default cache: `$XDG_CACHE_HOME/swiftgan` or `~/.cache/swiftgan`.
    public static var defaultCacheDirectory: String {
        let env = ProcessInfo.processInfo.environment
        if let xdg = env["XDG_CACHE_HOME"], !xdg.isEmpty { return xdg + "/swiftgan" }
        return (env["HOME"] ?? NSTemporaryDirectory()) + "/.cache/swiftgan"
    }

    /// Image files under `path`, sorted by relative path, with their length and modification time.
    static func listing(_ path: String) throws -> [(relative: String, size: Int, modified: Double)] {
        let root = URL(fileURLWithPath: path)
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.fileSizeKey, .contentModificationDateKey, .isRegularFileKey],
                                                          options: [.skipsHiddenFiles]) else {
            throw DatasetError.unreadable(file: path, reason: "cannot list the folder")
        }
        var out: [(String, Int, Double)] = []
        let prefix = root.standardizedFileURL.path + "/"
        for case let url as URL in walker where extensions.contains(url.pathExtension.lowercased()) {
            let values = try? url.resourceValues(forKeys: [.fileSizeKey, .contentModificationDateKey, .isRegularFileKey])
            guard values?.isRegularFile ?? false else { continue }
            var relative = url.standardizedFileURL.path
            if relative.hasPrefix(prefix) { relative.removeFirst(prefix.count) }
            out.append((relative, values?.fileSize ?? 0, values?.contentModificationDate?.timeIntervalSince1970 ?? 0))
        }
        return out.sorted { $0.0 < $1.0 }
    }

    /// The class layout of a listing: class names (the top-level folders, sorted) and each file's
    /// class, or why the files do not form one.
    enum Layout {
        case classes(names: [String], labels: [Int32])
        case unlabelled(reason: String)

        init(_ relative: [String]) {
            let top = relative.filter { !$0.contains("/") }
            let folders = Array(Set(relative.compactMap { r in r.firstIndex(of: "/").map { String(r[..<$0]) } })).sorted()
            if folders.isEmpty {
                self = .unlabelled(reason: "its images are not sorted into class sub-folders (one folder per class)")
            } else if !top.isEmpty {
                let shown = top.prefix(3).joined(separator: ", ") + (top.count > 3 ? ", …" : "")
                self = .unlabelled(reason: "\(top.count) image\(top.count == 1 ? "" : "s") at the top level (\(shown)) beside the class "
                    + "sub-folders \(folders.prefix(3).map { $0 + "/" }.joined(separator: ", "))\(folders.count > 3 ? ", …" : ""): "
                    + "move each into its class's folder, or remove it")
            } else {
                let index = Dictionary(uniqueKeysWithValues: folders.enumerated().map { ($1, Int32($0)) })
                self = .classes(names: folders, labels: relative.map { index[String($0[..<$0.firstIndex(of: "/")!])]! })
            }
        }
    }

    public static func load(_ path: String, size: Int, channels: Int = 3, background: UInt8 = 255,
                            cacheDirectory: String? = defaultCacheDirectory,
                            log: (String) -> Void = { _ in }) throws -> ImageDataset {
        precondition(size > 0 && (channels == 1 || channels == 3), "ImageFolder.load: size \(size), channels \(channels)")
        let files = try listing(path)
        guard !files.isEmpty else { throw DatasetError.emptyFolder(path: path) }
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        var key = FNV1a()
        key.add("swiftgan-image-folder-v2 \(absolute) \(size) \(channels) \(background)")
        for f in files { key.add("\(f.relative)\u{0}\(f.size)\u{0}\(f.modified)") }
        let cacheFile = cacheDirectory.map { $0 + "/" + String(key.value, radix: 16) + ".u8" }
        let layout = Layout(files.map(\.relative))
        if let cacheFile, let cached = readCache(cacheFile, name: absolute, size: size, channels: channels) {
            log("\(absolute): \(cached.count) images from the cache \(cacheFile)")
            return labelled(cached, files: files.map(\.relative), layout: layout)
        }
        // One converter at a time per cache file: a second process waits for the first's cache
        // rather than decoding the same photos beside it.
        let conversion = cacheFile.flatMap { CacheLock($0 + ".lock", waiting: { log("\(absolute): waiting for another process converting it") }) }
        defer { withExtendedLifetime(conversion) {} }
        if conversion?.waited == true, let cacheFile, let cached = readCache(cacheFile, name: absolute, size: size, channels: channels) {
            log("\(absolute): \(cached.count) images from the cache \(cacheFile), made meanwhile by another process")
            return labelled(cached, files: files.map(\.relative), layout: layout)
        }

        let (pixels, errors) = decodeAll(files.count, size: size, channels: channels, name: absolute, log: log) { i in
            try ImageCodec.read(absolute + "/" + files[i].relative, minSide: size).flattened(onto: background)
        }
        let failures = errors.map { $0.map { "\($0)" } }
        let kinds = errors.map { error in
            // The kind of failure ("corrupt image", "the file is empty"), without the file's name or
            // the decoder's detail, to count them by kind.
            error.map { error in
                let detail = (error as? ImagingError).map { e in String("\(e)".dropFirst(e.file.count + 2)) } ?? "\(error)"
                return String(detail.split(separator: ":", maxSplits: 1).first ?? Substring(detail))
            }
        }
        let failed = failures.enumerated().compactMap { i, f in f.map { (files[i].relative, $0) } }
        let examples = failed.prefix(3).map { $0.1 }
        if failed.count == files.count {
            throw DatasetError.noDecodableImages(path: absolute, failed: failed.count, examples: examples)
        }
        if failed.count * 2 > files.count {
            throw DatasetError.tooManyFailures(path: absolute, failed: failed.count, total: files.count, examples: examples)
        }
        let dataset = ImageDataset(name: absolute, count: files.count - failed.count, height: size, width: size,
                                   channels: channels, pixels: pixels, skipped: failed.map { (file: $0.0, reason: $0.1) })
        if !failed.isEmpty {
            log("\(absolute): skipped \(failed.count) of \(files.count) files that could not be decoded: " + Self.summary(of: kinds, files.map(\.relative)))
        }
        if let cacheFile { writeCache(dataset, to: cacheFile, log: log) }
        return labelled(dataset, files: files.map(\.relative), layout: layout)
    }

    /// Decodes `count` images — `image(i)`, then centre-cropped, resized to `size` and converted to
    /// `channels` — in parallel, one image per worker at a time (at most a few full-size photos
    /// are in memory at once, however large they are). Returns the pixels of those that decoded,
    /// in order, and each one's error (nil where it decoded). A set of 1 000 or more says when it
    /// starts and how far it is every 5 s (as `name`).
    static func decodeAll(_ count: Int, size: Int, channels: Int, name: String, log: (String) -> Void,
                          _ image: (Int) throws -> Image) -> (pixels: [UInt8], errors: [Error?]) {
        let per = size * size * channels
        let pixels = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: count * per)
        defer { pixels.deallocate() }
        var errors = [Error?](repeating: nil, count: count)
        let lock = NSLock()
        let started = Date()
        var done = 0, lastReport = started
        if count >= 1_000 { log("\(name): decoding \(count) images (once: the result is cached)…") }
        concurrentPerform(iterations: count) { i in
            defer {
                lock.lock()
                done += 1
                if count >= 1_000, Date().timeIntervalSince(lastReport) >= 5 {
                    lastReport = Date()
                    let rate = Double(done) / max(lastReport.timeIntervalSince(started), 1e-3)
                    log(String(format: "%@: %d of %d images decoded (%.0f/s, %.0f s left)", name, done, count, rate, Double(count - done) / rate))
                }
                lock.unlock()
            }
            do {
                let converted = try prepared(image(i), size: size, channels: channels)
                converted.pixels.withUnsafeBufferPointer { (pixels.baseAddress! + i * per).update(from: $0.baseAddress!, count: per) }
            } catch {
                lock.lock(); errors[i] = error; lock.unlock()
            }
        }
        var kept: [UInt8] = []
        kept.reserveCapacity(errors.filter { $0 == nil }.count * per)
        for i in 0..<count where errors[i] == nil { kept.append(contentsOf: UnsafeBufferPointer(rebasing: pixels[(i * per)..<((i + 1) * per)])) }
        return (kept, errors)
    }

    /// A decoded picture as a dataset of `size`×`size`×`channels` holds it: centre-cropped to a
    /// square, resized, converted to `channels` (transparent pixels already flattened onto the
    /// background, as `load` reads them with `Image.flattened(onto:)`).
    public static func prepared(_ image: Image, size: Int, channels: Int) -> Image {
        image.centerCroppedSquare().resized(width: size, height: size).converted(toChannels: channels)
    }

    /// "10 × corrupt image (e.g. a.png, b.png); 2 × the file is empty (e.g. c.png)": the kinds of
    /// failure, most frequent first, with a count and examples each.
    static func summary(of kinds: [String?], _ files: [String]) -> String {
        var byKind: [String: [String]] = [:]
        for (kind, file) in zip(kinds, files) { if let kind { byKind[kind, default: []].append(file) } }
        let sorted = byKind.sorted { $0.value.count != $1.value.count ? $0.value.count > $1.value.count : $0.key < $1.key }
        let shown = sorted.prefix(4).map { "\($0.value.count) × \($0.key) (e.g. \($0.value.prefix(2).joined(separator: ", ")))" }
        return shown.joined(separator: "; ") + (sorted.count > 4 ? "; \(sorted.count - 4) other kinds" : "")
    }

    /// `dataset` (the decodable ones of `files`, in order) with the labels of `layout`.
    static func labelled(_ dataset: ImageDataset, files: [String], layout: Layout) -> ImageDataset {
        let d = dataset
        switch layout {
        case .unlabelled(let reason):
            return ImageDataset(name: d.name, count: d.count, height: d.height, width: d.width, channels: d.channels,
                                pixels: d.pixels, unlabelledReason: reason, skipped: d.skipped)
        case .classes(let names, let labels):
            let skipped = Set(d.skipped.map(\.file))
            let kept = zip(files, labels).filter { !skipped.contains($0.0) }.map(\.1)
            guard kept.count == d.count else {
                return ImageDataset(name: d.name, count: d.count, height: d.height, width: d.width, channels: d.channels,
                                    pixels: d.pixels, unlabelledReason: "the image cache does not match the folder", skipped: d.skipped)
            }
            return ImageDataset(name: d.name, count: d.count, height: d.height, width: d.width, channels: d.channels,
                                pixels: d.pixels, labels: kept, classNames: names, skipped: d.skipped)
        }
    }

    // Cache file: "SGIMG1\n", a line "count height width channels skipped", the skipped files'
    // names and reasons (one per line), then the pixels.
    static func writeCache(_ d: ImageDataset, to path: String, log: (String) -> Void) {
        var header = "SGIMG1\n\(d.count) \(d.height) \(d.width) \(d.channels) \(d.skipped.count)\n"
        for s in d.skipped { header += s.file.replacingOccurrences(of: "\n", with: " ") + "\t" + s.reason.replacingOccurrences(of: "\n", with: " ") + "\n" }
        var data = Data(header.utf8)
        data.append(contentsOf: d.pixels)
        do {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try DurableFile.write(data, to: path)
        } catch let error as FileError {
            // A cache is an optimisation: failing to write one must not fail the load.
            log("warning: cannot write the image cache \(path): \(error.reason)")
        } catch {
            log("warning: cannot write the image cache \(path): \((error as NSError).localizedDescription)")
        }
    }

    static func readCache(_ path: String, name: String, size: Int, channels: Int) -> ImageDataset? {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path)) else { return nil }
        var offset = 0
        let bytes = [UInt8](data)
        // The header is the first two lines plus one per skipped file.
        func nextLine() -> String? {
            guard let nl = bytes[offset...].firstIndex(of: 10) else { return nil }
            defer { offset = nl + 1 }
            return String(decoding: bytes[offset..<nl], as: UTF8.self)
        }
        guard nextLine() == "SGIMG1", let counts = nextLine()?.split(separator: " ").compactMap({ Int($0) }),
              counts.count == 5, counts[1] == size, counts[2] == size, counts[3] == channels else { return nil }
        var skipped: [(file: String, reason: String)] = []
        for _ in 0..<counts[4] {
            guard let line = nextLine() else { return nil }
            let parts = line.split(separator: "\t", maxSplits: 1).map(String.init)
            skipped.append((parts.first ?? "", parts.count > 1 ? parts[1] : ""))
        }
        let expected = counts[0] * size * size * channels
        guard bytes.count - offset == expected else { return nil }
        return ImageDataset(name: name, count: counts[0], height: size, width: size, channels: channels,
                            pixels: Array(bytes[offset...]), skipped: skipped)
    }
}

extension ImageFolder {
    /// `body` for 0..<iterations on libdispatch's threads — or on this one, where an address-space
    /// limit (`ulimit -v`) leaves no room for their stacks: libdispatch retries a thread it cannot
    /// create forever (`_dispatch_temporary_resource_shortage`), which hung `train --data emoji`
    /// under 160 MiB. Slower there, but it ends, with the data or with the one-line memory error.
    static func concurrentPerform(iterations: Int, execute body: (Int) -> Void) {
        let threads = UInt64(ProcessInfo.processInfo.activeProcessorCount)
        if sg_address_space_limit() != 0 && sg_address_space_available(threads * (16 << 20) + (32 << 20)) == 0 {
            for i in 0..<iterations { body(i) }
        } else {
            DispatchQueue.concurrentPerform(iterations: iterations, execute: body)
        }
    }
}

/// An exclusive lock (flock) on a file beside a cache, held until released; nil where the file
/// cannot be made (a read-only cache directory: then there is nothing to share either).
final class CacheLock {
    let fd: Int32
    /// Whether another process held it first.
    private(set) var waited = false

    init?(_ path: String, waiting: () -> Void) {
        try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return nil }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            waiting()
            waited = true
            while flock(fd, LOCK_EX) != 0 && errno == EINTR {}
        }
    }

    deinit { close(fd) }
}

/// 64-bit FNV-1a: a stable hash for cache keys (Swift's `Hasher` is seeded per process).
public struct FNV1a: Sendable {
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325
    public init() {}
    /// Adds `bytes`, then a separator, so that ("ab", "c") and ("a", "bc") differ.
    public mutating func add<S: Sequence>(bytes: S) where S.Element == UInt8 {
        for b in bytes { value = (value ^ UInt64(b)) &* 0x100_0000_01b3 }
        value = (value ^ 0xff) &* 0x100_0000_01b3
    }
    public mutating func add(_ s: String) { add(bytes: s.utf8) }
}
