import CHarfBuzz
import Foundation
import Imaging

/// A real colour dataset on every Debian machine: the emoji of Noto Color Emoji (Debian's
/// `fonts-noto-color-emoji`), labelled by the groups of Unicode's `emoji-test.txt` (Debian's
/// `unicode-data`): Smileys & Emotion, People & Body, Animals & Nature, Food & Drink, Travel &
/// Places, Activities, Objects, Symbols, Flags.
///
/// Every fully-qualified emoji of the list (the "Component" group aside) is shaped by HarfBuzz —
/// a flag, a family or a profession is a sequence of code points that the font's ligatures turn
/// into one glyph — and the glyph's colour bitmap (a PNG of 136×128 in the font's CBDT table, read
/// through HarfBuzz's OpenType colour API) is decoded, composited over the background,
/// centre-cropped to a square and resized. Sequences with a skin-tone modifier (U+1F3FB–1F3FF) are
/// left out unless asked for: they repeat their base emoji five times in other colours. Emoji the
/// font draws as more than one glyph (newer than the font) are skipped and counted. The result is
/// cached like a folder of photos, keyed by both files' sizes and dates and the options.
public enum Emoji {
    /// The `--data` keyword that names this dataset (a folder called so is given as `./emoji`).
    public static let keyword = "emoji"
    public static let fontPath = "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"
    public static let testFilePath = "/usr/share/unicode/emoji/emoji-test.txt"

    /// One line of `emoji-test.txt`.
    public struct Entry: Equatable, Sendable {
        public let scalars: [UInt32]
        public let group: String
        public let name: String
        /// Holds a skin-tone modifier (U+1F3FB–1F3FF).
        public var hasSkinTone: Bool { scalars.contains { (0x1F3FB...0x1F3FF).contains($0) } }
    }

    /// The fully-qualified emoji of `emoji-test.txt`'s text, in its order, without the "Component"
    /// group (skin tones and hair styles alone). Lines look like
    /// `1F469 200D 1F52C ; fully-qualified # 👩‍🔬 E4.0 woman scientist`, under `# group: NAME`.
    public static func entries(parsing text: String, file: String) throws -> [Entry] {
        var entries: [Entry] = [], group: String?
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("# group:") {
                group = line.dropFirst("# group:".count).trimmingCharacters(in: .whitespaces)
                continue
            }
            if line.isEmpty || line.hasPrefix("#") { continue }
            func bad(_ why: String) -> DatasetError {
                .unsupported(file: file, reason: "line \(number + 1): \(why) (expected 'CODE POINTS ; STATUS # EMOJI VERSION NAME')")
            }
            guard let semicolon = line.firstIndex(of: ";") else { throw bad("no ';'") }
            let fields = line[line.index(after: semicolon)...]
            let status = fields.split(separator: "#", maxSplits: 1).first?.trimmingCharacters(in: .whitespaces) ?? ""
            guard status == "fully-qualified" else { continue }
            var scalars: [UInt32] = []
            for hex in line[..<semicolon].split(separator: " ") {
                guard hex.count <= 6, let v = UInt32(hex, radix: 16), v <= 0x10FFFF, Unicode.Scalar(v) != nil else {
                    throw bad("'\(hex.prefix(12))' is not a code point")
                }
                scalars.append(v)
            }
            guard !scalars.isEmpty else { throw bad("no code points") }
            guard let group else { throw bad("an emoji before the first '# group:' line") }
            guard group != "Component" else { continue }
            // "# 😀 E1.0 grinning face": the name follows the version.
            let comment = fields.split(separator: "#", maxSplits: 1).dropFirst().first.map(String.init) ?? ""
            let words = comment.split(separator: " ")
            let name = words.firstIndex { $0.hasPrefix("E") && Double($0.dropFirst()) != nil }
                .map { words[($0 + 1)...].joined(separator: " ") } ?? ""
            entries.append(Entry(scalars: scalars, group: group, name: name))
        }
        return entries
    }

    /// The dataset at `size`×`size` with `channels` (1 or 3), over a `background` grey level.
    public static func load(size: Int, channels: Int = 3, skinTones: Bool = false, background: UInt8 = 255,
                            fontPath: String = fontPath, testFilePath: String = testFilePath,
                            cacheDirectory: String? = ImageFolder.defaultCacheDirectory,
                            log: (String) -> Void = { _ in }) throws -> ImageDataset {
        precondition(size > 0 && (channels == 1 || channels == 3), "Emoji.load: size \(size), channels \(channels)")
        guard size <= 128 else {
            throw DatasetError.unsupported(file: keyword, reason: "the font's bitmaps are 128 pixels: sizes up to 128 (asked for \(size))")
        }
        let name = "emoji (Noto Color Emoji\(skinTones ? ", with skin tones" : ""))"
        func stamp(_ path: String, _ package: String) throws -> String {
            guard let a = try? FileManager.default.attributesOfItem(atPath: path) else {
                throw DatasetError.unsupported(file: path, reason: "missing: the emoji dataset needs Debian's \(package) (apt install \(package))")
            }
            return "\(path)\u{0}\((a[.size] as? Int) ?? 0)\u{0}\((a[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)"
        }
        var key = FNV1a()
        key.add("swiftgan-emoji-v1 \(try stamp(fontPath, "fonts-noto-color-emoji")) \(try stamp(testFilePath, "unicode-data"))")
        key.add("\(size) \(channels) \(skinTones) \(background)")
        let cacheFile = cacheDirectory.map { $0 + "/" + String(key.value, radix: 16) + ".u8" }

        let text: String
        do { text = try String(contentsOfFile: testFilePath, encoding: .utf8) } catch {
            throw DatasetError.unreadable(file: testFilePath, reason: (error as NSError).localizedDescription)
        }
        let entries = try Self.entries(parsing: text, file: testFilePath).filter { skinTones || !$0.hasSkinTone }
        var groups: [String] = []
        for e in entries where !groups.contains(e.group) { groups.append(e.group) }
        guard !entries.isEmpty else { throw DatasetError.unsupported(file: testFilePath, reason: "no fully-qualified emoji in it") }

        // Shaping is quick and sequential; what was skipped (and so the labels) a cached set
        // records itself, so only a set not in the cache reads the PNGs.
        let font = try ColorFont(path: fontPath)
        let glyphs = entries.map { font.glyph(for: $0.scalars) }
        if let cacheFile, let cached = ImageFolder.readCache(cacheFile, name: name, size: size, channels: channels) {
            log("\(name): \(cached.count) images from the cache \(cacheFile)")
            return labelled(cached, entries: entries, groups: groups, name: name)
        }
        let drawn = entries.indices.compactMap { i in glyphs[i].flatMap(font.png).map { (index: i, png: $0) } }
        let (pixels, errors) = ImageFolder.decodeAll(drawn.count, size: size, channels: channels, name: name, log: log) { k in
            try ImageCodec.decode(drawn[k].png, file: "\(fontPath) (\(entries[drawn[k].index].name))").flattened(onto: background)
        }
        var reasons = [String?](repeating: "the font has no single glyph for it", count: entries.count)
        for (k, d) in drawn.enumerated() { reasons[d.index] = errors[k].map { "\($0)" } }
        let skipped = entries.indices.compactMap { i in reasons[i].map { (file: Self.skippedName(entries[i]), reason: $0) } }
        guard !pixels.isEmpty else { throw DatasetError.unsupported(file: fontPath, reason: "no emoji of \(testFilePath) could be drawn from it") }
        let missing = entries.count - drawn.count
        if missing > 0 {
            let drawnIndices = Set(drawn.map(\.index))
            let examples = entries.indices.filter { !drawnIndices.contains($0) }.prefix(3).map { entries[$0].name }
            log("\(name): \(skipped.count) of \(entries.count) emoji skipped (\(missing) newer than the font, e.g. "
                + examples.joined(separator: ", ") + ")")
        }
        let dataset = ImageDataset(name: name, count: entries.count - skipped.count, height: size, width: size, channels: channels,
                                   pixels: pixels, skipped: skipped)
        if let cacheFile { ImageFolder.writeCache(dataset, to: cacheFile, log: log) }
        return labelled(dataset, entries: entries, groups: groups, name: name)
    }

    /// How a skipped emoji is named: its code points and its name ("1F600 200D 1F52C grinning scientist").
    static func skippedName(_ e: Entry) -> String {
        e.scalars.map { String($0, radix: 16, uppercase: true) }.joined(separator: " ") + " " + e.name
    }

    /// `d` (the emoji of `entries` not in its `skipped`, in order) labelled by their groups.
    static func labelled(_ d: ImageDataset, entries: [Entry], groups: [String], name: String) -> ImageDataset {
        let skipped = Set(d.skipped.map(\.file))
        let labels = entries.filter { !skipped.contains(skippedName($0)) }.map { Int32(groups.firstIndex(of: $0.group)!) }
        guard labels.count == d.count else {
            return ImageDataset(name: name, count: d.count, height: d.height, width: d.width, channels: d.channels,
                                pixels: d.pixels, unlabelledReason: "the image cache does not match the emoji list", skipped: d.skipped)
        }
        return ImageDataset(name: name, count: d.count, height: d.height, width: d.width, channels: d.channels,
                            pixels: d.pixels, labels: labels, classNames: groups, skipped: d.skipped)
    }
}

/// An OpenType colour font read through HarfBuzz: a code-point sequence shaped to its glyph, and
/// that glyph's PNG (CBDT/sbix).
final class ColorFont {
    private let face: OpaquePointer
    private let font: OpaquePointer

    init(path: String) throws {
        guard let blob = hb_blob_create_from_file_or_fail(path) else {
            throw DatasetError.unreadable(file: path, reason: "cannot read the font")
        }
        defer { hb_blob_destroy(blob) }
        guard let face = hb_face_create(blob, 0), hb_face_get_glyph_count(face) > 0 else {
            throw DatasetError.unsupported(file: path, reason: "not an OpenType font HarfBuzz can read")
        }
        guard hb_ot_color_has_png(face) != 0 else {
            hb_face_destroy(face)
            throw DatasetError.unsupported(file: path, reason: "the font has no colour bitmaps (CBDT or sbix)")
        }
        self.face = face
        self.font = hb_font_create(face)
    }

    deinit {
        hb_font_destroy(font)
        hb_face_destroy(face)
    }

    /// The one glyph the font draws `scalars` with; nil when it takes several (the font lacks the
    /// sequence) or none.
    func glyph(for scalars: [UInt32]) -> UInt32? {
        let buffer = hb_buffer_create()
        defer { hb_buffer_destroy(buffer) }
        scalars.withUnsafeBufferPointer { hb_buffer_add_utf32(buffer, $0.baseAddress, Int32($0.count), 0, Int32($0.count)) }
        hb_buffer_guess_segment_properties(buffer)
        hb_shape(font, buffer, nil, 0)
        var count: UInt32 = 0
        guard let infos = hb_buffer_get_glyph_infos(buffer, &count), count == 1, infos[0].codepoint != 0 else { return nil }
        return infos[0].codepoint
    }

    /// The glyph's colour bitmap as PNG bytes; nil when it has none.
    func png(_ glyph: UInt32) -> Data? {
        guard let blob = hb_ot_color_glyph_reference_png(font, glyph) else { return nil }
        defer { hb_blob_destroy(blob) }
        var length: UInt32 = 0
        guard let data = hb_blob_get_data(blob, &length), length > 0 else { return nil }
        return Data(bytes: data, count: Int(length))
    }
}
